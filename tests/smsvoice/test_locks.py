"""The scheduled jobs' lock (``smsvoice.locks.try_lock``) on the real Redis: one holder at a
time, and a lock that Redis lost while it was held (a restart without persistence) or that
expired is let go without failing the job that held it. A lock kept alive stays held past its
timeout while its holder runs, is freed within its timeout when the holder is killed, and
tells its holder when it was lost."""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from smsvoice.locks import try_lock

pytestmark = pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis"), reason="needs the Redis broker"
)


def _redis():
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def test_a_second_caller_does_not_get_a_held_lock():
    with try_lock("test-locks-held") as first, try_lock("test-locks-held") as second:
        assert (bool(first), bool(second)) == (True, False)
    with try_lock("test-locks-held") as again:
        assert again


def test_a_lock_redis_lost_while_held_is_let_go_with_a_warning(caplog):
    caplog.set_level(logging.WARNING, logger="smsvoice.locks")
    with try_lock("test-locks-lost") as mine:
        assert mine
        _redis().delete("lock:test-locks-lost")  # as after a Redis restart that kept nothing
    assert "test-locks-lost was no longer held" in caplog.text
    with try_lock("test-locks-lost") as again:
        assert again


def test_an_error_in_the_job_is_not_hidden_by_a_lost_lock():
    with pytest.raises(ZeroDivisionError), try_lock("test-locks-error") as mine:
        assert mine
        _redis().delete("lock:test-locks-error")
        1 / 0  # noqa: B018


def test_a_lock_kept_alive_stays_held_past_its_timeout_and_is_released_at_the_end():
    with try_lock("test-locks-alive", timeout=1, keep_alive=True) as mine:
        assert mine
        time.sleep(2.5)  # past the timeout: renewed meanwhile
        with try_lock("test-locks-alive", timeout=1) as other:
            assert not other
        assert not mine.lost
        assert 0 < _redis().pttl("lock:test-locks-alive") <= 1000
    assert not _redis().exists("lock:test-locks-alive")


def test_a_lock_kept_alive_tells_its_holder_it_was_lost(caplog):
    caplog.set_level(logging.WARNING, logger="smsvoice.locks")
    with try_lock("test-locks-gone", timeout=1, keep_alive=True) as mine:
        _redis().delete("lock:test-locks-gone")  # Redis restarted, or it expired meanwhile
        deadline = time.monotonic() + 5
        while not mine.lost and time.monotonic() < deadline:
            time.sleep(0.05)
        assert mine.lost
    assert "test-locks-gone was lost while held" in caplog.text


HOLDER = """
import os, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsvoice.settings")
django.setup()
from smsvoice.locks import try_lock
with try_lock("test-locks-killed", timeout=2, keep_alive=True) as mine:
    print("held" if mine else "refused", flush=True)
    time.sleep(60)
"""


def test_a_lock_kept_alive_by_a_killed_holder_is_free_within_its_timeout():
    """A worker killed in the middle of a sweep (kill -9: no finally runs) leaves its lock;
    kept short and renewed, it is free for the next sweep within seconds, not minutes."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "CELERY_BROKER_URL": settings.CELERY_BROKER_URL}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER], cwd=root, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        time.sleep(3)  # renewed past its 2 s by then
        with try_lock("test-locks-killed") as other:
            assert not other
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        killed = time.monotonic()
        while True:
            with try_lock("test-locks-killed") as mine:
                if mine:
                    break
            assert time.monotonic() - killed < 4, "the dead holder's lock was not freed"
            time.sleep(0.1)
    finally:
        if holder.poll() is None:
            holder.kill()
