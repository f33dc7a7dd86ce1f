"""The scheduled jobs' lock (``smsvoice.locks.try_lock``) on the real Redis: one holder at a
time, and a lock that Redis lost while it was held (a restart without persistence) or that
expired is let go without failing the job that held it."""

import logging

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
        assert (first, second) == (True, False)
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
