"""Many provider requests in flight from one worker process, on an event loop.

Sending is I/O-bound: each message waits ~100 ms on Twilio and costs well under a
millisecond of CPU with the SDK's aiohttp client, so one process keeps hundreds in flight
(SMS_SEND_CONCURRENCY) while the pacer holds the sender to its messages-per-second.
Nothing here touches the database: the caller claims before and records after.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.conf import settings

from broadcasts.engine.pace import AsyncPacer

T = TypeVar("T")


def send_concurrently(
    items: Sequence[T], *, sender: str, per_second: int, send: Callable
) -> list[tuple[T, str, Exception | None]]:
    """Run ``await send(item) -> sid`` for every item, paced; returns (item, sid, error)."""
    return asyncio.run(_send_all(items, sender=sender, per_second=per_second, send=send))


async def _send_all(items, *, sender, per_second, send):
    from broadcasts.providers import twilio as twilio_gateway

    limit = asyncio.Semaphore(settings.SMS_SEND_CONCURRENCY)
    pacer = AsyncPacer(sender=sender, per_second=per_second)

    async def one(item):
        async with limit:
            await pacer.wait()
            try:
                return item, await send(item), None
            except Exception as error:  # every failure is recorded by the caller, none is lost
                return item, "", error

    async with twilio_gateway.async_session():
        return await asyncio.gather(*(one(item) for item in items))
