"""The channels the engine sends through (SMS, voice), by name.

Each channel package registers what the engine needs to know of it (``broadcasts.apps``
imports them at start-up), so the engine calls channels without importing them: no import
circle between engine and channel.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Protocol

from broadcasts.models import Broadcast, Recipient


class Channel(Protocol):
    def rate(self, e164: str) -> float:
        """Messages (or calls) a second this sending number may start."""

    def prepare(self, broadcast: Broadcast, claimed: list[Recipient]) -> list[Recipient]:
        """Of the claimed recipients, those still to send (the others it ends itself)."""

    def sends_inline(self) -> bool:
        """True: ``sender()`` is a plain function run in the worker's thread (a provider
        that writes to the database); False: a coroutine function for the sending loop."""

    def sender(self) -> Any:
        """``send(broadcast, recipient) -> provider sid``, raising the provider's error; the
        coroutine form takes ``on_wire``, called with time.monotonic() when the request left."""

    def record(self, outcomes: list, lease) -> Any:
        """Write a flush of outcomes (``engine.record.Outcome``); returns ``Recorded``."""

    def reconcile(self, recipients: list[Recipient]) -> Counter:
        """Recipients of one sender whose lease expired: ask the provider what happened."""


_CHANNELS: dict[str, Channel] = {}


def channel_register(name: str, channel: Channel) -> None:
    _CHANNELS[name] = channel


def channel_for(name: str) -> Channel:
    try:
        return _CHANNELS[name]
    except KeyError:
        raise LookupError(f"no channel {name!r} is registered (broadcasts.apps)") from None
