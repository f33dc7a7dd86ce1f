"""A non-blocking lock for scheduled jobs, so two beat ticks or two workers never run the
same sweep at once. Redis when there is a broker; a process-local lock otherwise."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

logger = logging.getLogger(__name__)
_local_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


@contextmanager
def try_lock(name: str, *, timeout: int = 300) -> Iterator[bool]:
    """Yield True if this caller holds ``name`` now, False if someone else does (no waiting).
    The Redis lock expires after ``timeout`` seconds, so a crashed holder can't block forever."""
    url = settings.CELERY_BROKER_URL
    if url.startswith("redis"):
        import redis

        lock = redis.Redis.from_url(url).lock(f"lock:{name}", timeout=timeout, blocking=False)
        acquired = lock.acquire()
        try:
            yield acquired
        finally:
            if acquired:
                _release(lock, name)
        return
    with _guard:
        lock = _local_locks.setdefault(name, threading.Lock())
    acquired = lock.acquire(blocking=False)
    try:
        yield acquired
    finally:
        if acquired:
            lock.release()


def _release(lock, name: str) -> None:
    """Give a Redis lock back. One that is no longer ours (it expired, or Redis lost its data:
    a restart without persistence) or a Redis that cannot be reached is logged, not raised:
    the job's work is done and written, and the lock's expiry frees it in any case."""
    import redis

    try:
        lock.release()
    except redis.exceptions.LockNotOwnedError:
        logger.warning("lock %s was no longer held when released (expired or lost by Redis)", name)
    except redis.exceptions.RedisError as error:
        logger.warning("lock %s could not be released (%s); it expires by itself", name, error)
