"""Send pacing: at most N messages per second per sending number, across every worker.

Each send takes a slot in a per-second counter in Redis (short-lived keys: Redis carries
only counters, never state). Without a broker (the embedded default) one process sends, and
an in-process counter does the same job.
"""

from __future__ import annotations

import threading
import time
from functools import lru_cache

from django.conf import settings


class _LocalCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def incr(self, key: str) -> int:
        with self._lock:
            if len(self._counts) > 10_000:
                self._counts.clear()
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]


class _RedisCounter:
    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=5)

    def incr(self, key: str) -> int:
        pipe = self._redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, 3)
        return int(pipe.execute()[0])


@lru_cache(maxsize=1)
def _counter():
    url = settings.CELERY_BROKER_URL
    return _RedisCounter(url) if url.startswith("redis") else _LocalCounter()


def pace(*, sender: str, per_second: int) -> None:
    """Block until ``sender`` may send one more message this second."""
    while True:
        now = time.time()
        second = int(now)
        if _counter().incr(f"pace:{sender}:{second}") <= per_second:
            return
        time.sleep(max(second + 1 - time.time(), 0.001))


def reserve(*, sender: str, per_second: int, wanted: int) -> int:
    """Take up to ``wanted`` of this second's slots at once; returns how many were granted."""
    second = int(time.time())
    key = f"pace:{sender}:{second}"
    counter = _counter()
    if isinstance(counter, _RedisCounter):
        pipe = counter._redis.pipeline()
        pipe.incrby(key, wanted)
        pipe.expire(key, 3)
        total = int(pipe.execute()[0])
    else:
        total = 0
        for _ in range(wanted):
            total = counter.incr(key)
    before = total - wanted
    return max(0, min(wanted, per_second - before))


class AsyncPacer:
    """Pacing for an event loop: slots are fetched from the shared counter in small chunks, so
    a thousand sends a second cost a few dozen Redis round trips, not a thousand."""

    def __init__(self, *, sender: str, per_second: int, chunk: int = 25) -> None:
        import asyncio

        self.sender, self.per_second = sender, per_second
        self.chunk = max(1, min(chunk, per_second))
        self._tokens = 0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        import asyncio

        async with self._lock:
            while self._tokens == 0:
                self._tokens = reserve(
                    sender=self.sender, per_second=self.per_second, wanted=self.chunk
                )
                if self._tokens == 0:
                    await asyncio.sleep(max(int(time.time()) + 1 - time.time(), 0.001))
            self._tokens -= 1
