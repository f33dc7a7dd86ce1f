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


class Held:
    """What ``try_lock`` yields: true when this caller holds the lock. With ``keep_alive``,
    ``lost`` turns true once a renewal finds the lock gone (expired while Redis was away, or
    Redis lost its data): the holder should stop, as another may hold it now."""

    def __init__(self, acquired: bool) -> None:
        self.acquired = acquired
        self.lost = False

    def __bool__(self) -> bool:
        return self.acquired


@contextmanager
def try_lock(name: str, *, timeout: int = 300, keep_alive: bool = False) -> Iterator[Held]:
    """Yield a true ``Held`` if this caller holds ``name`` now, a false one if someone else
    does (no waiting). The Redis lock expires after ``timeout`` seconds, so a crashed holder
    can't block forever.

    ``keep_alive``: a thread of the holder renews the lock every third of ``timeout`` while
    the block runs, so the lock can be short (a holder killed mid-run frees it within
    ``timeout``) however long the run takes, and two runs never overlap."""
    url = settings.CELERY_BROKER_URL
    if url.startswith("redis"):
        import redis

        # The renewing thread uses the lock's token: not kept per thread, then.
        lock = redis.Redis.from_url(url).lock(
            f"lock:{name}", timeout=timeout, blocking=False, thread_local=not keep_alive
        )
        held = Held(lock.acquire())
        stop = threading.Event()
        keeper = None
        if held and keep_alive:
            keeper = threading.Thread(
                target=_keep, args=(lock, name, held, stop, timeout / 3), daemon=True
            )
            keeper.start()
        try:
            yield held
        finally:
            if keeper is not None:
                stop.set()
                keeper.join()
            if held:
                _release(lock, name)
        return
    with _guard:
        lock = _local_locks.setdefault(name, threading.Lock())
    held = Held(lock.acquire(blocking=False))
    try:
        yield held
    finally:
        if held:
            lock.release()


def _keep(lock, name: str, held: Held, stop: threading.Event, every: float) -> None:
    """Renew ``lock`` every ``every`` seconds until ``stop``; mark it lost if it is gone."""
    import redis

    while not stop.wait(every):
        try:
            lock.reacquire()
        except redis.exceptions.LockError:  # not ours any more (LockNotOwnedError is one)
            held.lost = True
            logger.warning("lock %s was lost while held; its holder stops", name)
            return
        except redis.exceptions.RedisError as error:  # Redis away: try again, it may expire
            logger.warning("lock %s could not be renewed (%s)", name, error)


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
