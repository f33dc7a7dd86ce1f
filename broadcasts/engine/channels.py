"""The channels the engine sends through (SMS, voice), by name.

Each channel package registers how it sends a batch of its recipients and how it reconciles a
recipient a crash left in ``sending`` (``broadcasts.apps`` imports them at start-up), so the
engine calls channels without importing them: no import circle between engine and channel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from broadcasts.models import Broadcast, Recipient


@dataclass(frozen=True)
class Channel:
    # Claim what is still pending of these recipients, send, record; returns counts.
    send_batch: Callable[[Broadcast, list[int]], dict[str, int]]
    # A recipient whose claim outlived its worker: find out at the provider what happened.
    reconcile: Callable[[Recipient], int]


_CHANNELS: dict[str, Channel] = {}


def channel_register(name: str, channel: Channel) -> None:
    _CHANNELS[name] = channel


def channel_for(name: str) -> Channel:
    try:
        return _CHANNELS[name]
    except KeyError:
        raise LookupError(f"no channel {name!r} is registered (broadcasts.apps)") from None
