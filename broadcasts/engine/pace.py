"""Pacing: each sender's token budget, the wake-up calls of senders, and back-pressure.

A sender (a sending number on one channel, e.g. ``sms:+15550001111``) may send ``rate``
messages a second. Its budget is a GCRA bucket in Redis: one float, the theoretical arrival
time (TAT) of its next token. ``tokens_take`` reserves the tokens whose times fall within the
next ``horizon`` seconds and returns when each may be used, so a worker claims only what it
can send in that moment and sends each at its time: no sliding second ever holds more than
``rate`` messages, across every worker and host. Times come from Redis's clock (``TIME``),
so hosts with skewed clocks still agree.

Wake-ups: ``wake_book`` records the earliest time a sender's next slice is due, so however
many events ask for one (dispatch, a retry coming due, the sweep) only one task is scheduled.

Back-pressure (HTTP 429 and the like): ``sender_slow_down`` pushes the sender's TAT into the
future, and ``concurrency_*`` keep an AIMD limit on requests in flight per provider account:
halved on back-pressure, one more per clean slice.

Without a broker (the embedded default) one process sends, and the same logic runs on an
in-process dictionary.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

PREFIX = "engine:"
KEY_TTL_MS = 10 * 60 * 1000  # an idle sender's state is forgotten after ten minutes

_PEEK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval, horizon, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat >= now + horizon then return {0, tostring(tat - horizon - now)} end
local n = math.ceil((now + horizon - tat) / interval)
if n > want then n = want end
return {math.max(n, 1), '0'}
"""

_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval, horizon, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat >= now + horizon then return {0, tostring(tat), tostring(now)} end
local n = math.ceil((now + horizon - tat) / interval)
if n > want then n = want end
if n < 1 then n = 1 end
redis.call('SET', KEYS[1], tostring(tat + n * interval), 'PX', ARGV[4])
return {n, tostring(tat), tostring(now)}
"""

_SLOW_DOWN = """
local t = redis.call('TIME')
local until_ = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < until_ then redis.call('SET', KEYS[1], tostring(until_), 'PX', ARGV[2]) end
return 1
"""

# Book a wake-up at ARGV[1] unless one at or before it is booked already — and not stale:
# a booking past by more than ARGV[3] seconds was never run (its task was lost).
_WAKE_BOOK = """
local booked = redis.call('GET', KEYS[1])
if booked and tonumber(booked) <= tonumber(ARGV[1]) + 0.005
   and tonumber(booked) >= tonumber(ARGV[1]) - tonumber(ARGV[3]) - 0.005 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

_WAKE_DONE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
"""

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
"""

_AIMD = """
local limit = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if ARGV[2] == 'down' then limit = math.max(1, math.floor(limit / 2))
else limit = math.min(tonumber(ARGV[1]), limit + 1) end
redis.call('SET', KEYS[1], tostring(limit), 'PX', ARGV[3])
return limit
"""


@dataclass(frozen=True)
class Tokens:
    """``count`` tokens; the i-th may be used ``first_in + i * interval`` seconds from now."""

    count: int
    first_in: float
    interval: float
    # When tokens were refused: seconds until the next one falls within the horizon.
    retry_in: float = 0.0

    def due_in(self, index: int) -> float:
        return self.first_in + index * self.interval

    @property
    def next_in(self) -> float:
        """Seconds from now until the token after these: when this sender's next slice is due."""
        return self.first_in + self.count * self.interval


def interval_for(rate: float) -> float:
    """Seconds between two messages of a sender at ``rate`` a second, with headroom.

    Pacing is at ENGINE_RATE_HEADROOM (95%) of the rate: a request's trip to the provider
    varies by some milliseconds, and the headroom keeps even a late message followed by an
    early one inside the limit of every sliding second."""
    return 1.0 / (max(rate, 0.001) * settings.ENGINE_RATE_HEADROOM)


class _RedisBackend:
    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.peek = self.redis.register_script(_PEEK)
        self.take = self.redis.register_script(_TAKE)
        self.slow = self.redis.register_script(_SLOW_DOWN)
        self.book = self.redis.register_script(_WAKE_BOOK)
        self.done = self.redis.register_script(_WAKE_DONE)
        self.aimd = self.redis.register_script(_AIMD)
        self.unlock = self.redis.register_script(_UNLOCK)

    def lock(self, key: str, token: str, ttl_ms: int) -> bool:
        return bool(self.redis.set(key, token, nx=True, px=ttl_ms))

    def lock_release(self, key: str, token: str) -> None:
        self.unlock(keys=[key], args=[token])

    def locked(self, key: str) -> bool:
        return bool(self.redis.exists(key))

    def tokens_take(self, key: str, interval: float, horizon: float, wanted: int) -> Tokens:
        count, tat, now = self.take(
            keys=[key], args=[interval, horizon, wanted, KEY_TTL_MS]
        )
        return _tokens(int(count), float(tat), float(now), interval, horizon)

    def tokens_peek(self, key: str, interval: float, horizon: float, wanted: int):
        count, wait = self.peek(keys=[key], args=[interval, horizon, wanted])
        return int(count), max(float(wait), 0.0) + 0.001

    def slow_down(self, key: str, seconds: float) -> None:
        self.slow(keys=[key], args=[seconds, KEY_TTL_MS])

    def wake_book(self, key: str, at: float, ttl_ms: int, stale: float) -> bool:
        return bool(self.book(keys=[key], args=[repr(at), ttl_ms, stale]))

    def wake_done(self, key: str, at: float) -> None:
        self.done(keys=[key], args=[repr(at)])

    def wake_booked(self, key: str) -> float | None:
        raw = self.redis.get(key)
        return float(raw) if raw is not None else None

    def concurrency_move(self, key: str, ceiling: int, direction: str) -> int:
        return int(self.aimd(keys=[key], args=[ceiling, direction, KEY_TTL_MS]))

    def concurrency(self, key: str, ceiling: int) -> int:
        raw = self.redis.get(key)
        return min(int(float(raw)), ceiling) if raw is not None else ceiling


class _LocalBackend:
    """The same operations for one process without Redis (the embedded default)."""

    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.values: dict[str, tuple[str, float]] = {}  # key: (value, expires at)

    def _get(self, key: str) -> str | None:
        value = self.values.get(key)
        if value is None or value[1] < time.time():
            return None
        return value[0]

    def _set(self, key: str, value: str, ttl_ms: int = KEY_TTL_MS) -> None:
        self.values[key] = (value, time.time() + ttl_ms / 1000)

    def tokens_take(self, key: str, interval: float, horizon: float, wanted: int) -> Tokens:
        with self.guard:
            now = time.time()
            tat = max(float(self._get(key) or 0), now)
            if tat >= now + horizon:
                return _tokens(0, tat, now, interval, horizon)
            count = max(1, min(wanted, math.ceil((now + horizon - tat) / interval)))
            self._set(key, repr(tat + count * interval))
            return _tokens(count, tat, now, interval, horizon)

    def tokens_peek(self, key: str, interval: float, horizon: float, wanted: int):
        with self.guard:
            now = time.time()
            tat = max(float(self._get(key) or 0), now)
            if tat >= now + horizon:
                return 0, tat - horizon - now + 0.001
            return max(1, min(wanted, math.ceil((now + horizon - tat) / interval))), 0.0

    def slow_down(self, key: str, seconds: float) -> None:
        with self.guard:
            until = time.time() + seconds
            if float(self._get(key) or 0) < until:
                self._set(key, repr(until))

    def lock(self, key: str, token: str, ttl_ms: int) -> bool:
        with self.guard:
            if self._get(key) is not None:
                return False
            self._set(key, token, ttl_ms)
            return True

    def lock_release(self, key: str, token: str) -> None:
        with self.guard:
            if self._get(key) == token:
                self.values.pop(key, None)

    def locked(self, key: str) -> bool:
        with self.guard:
            return self._get(key) is not None

    def wake_book(self, key: str, at: float, ttl_ms: int, stale: float) -> bool:
        with self.guard:
            booked = self._get(key)
            if booked is not None and at - stale - 0.005 <= float(booked) <= at + 0.005:
                return False
            self._set(key, repr(at), ttl_ms)
            return True

    def wake_done(self, key: str, at: float) -> None:
        with self.guard:
            if self._get(key) == repr(at):
                self.values.pop(key, None)

    def wake_booked(self, key: str) -> float | None:
        with self.guard:
            booked = self._get(key)
        return float(booked) if booked is not None else None

    def concurrency_move(self, key: str, ceiling: int, direction: str) -> int:
        with self.guard:
            limit = int(float(self._get(key) or ceiling))
            limit = max(1, limit // 2) if direction == "down" else min(ceiling, limit + 1)
            self._set(key, str(limit))
            return limit

    def concurrency(self, key: str, ceiling: int) -> int:
        with self.guard:
            raw = self._get(key)
        return min(int(float(raw)), ceiling) if raw is not None else ceiling


def _tokens(count: int, tat: float, now: float, interval: float, horizon: float) -> Tokens:
    if count == 0:
        return Tokens(0, 0.0, interval, retry_in=max(tat - horizon - now, 0.0) + 0.001)
    return Tokens(count, max(tat - now, 0.0), interval)


@lru_cache(maxsize=4)
def _backend_for(url: str) -> _RedisBackend | _LocalBackend:
    return _RedisBackend(url) if url.startswith("redis") else _LocalBackend()


def backend() -> _RedisBackend | _LocalBackend:
    return _backend_for(settings.CELERY_BROKER_URL)


def tokens_take(*, sender: str, rate: float, wanted: int) -> Tokens:
    """Reserve up to ``wanted`` of ``sender``'s tokens within the next ENGINE_HORIZON_SECONDS."""
    horizon = settings.ENGINE_HORIZON_SECONDS
    return backend().tokens_take(f"{PREFIX}tat:{sender}", interval_for(rate), horizon, wanted)


def tokens_peek(*, sender: str, rate: float, wanted: int) -> tuple[int, float]:
    """How many tokens ``tokens_take`` would give now (nothing reserved), and if none, in how
    many seconds the next one falls within the horizon."""
    horizon = settings.ENGINE_HORIZON_SECONDS
    return backend().tokens_peek(f"{PREFIX}tat:{sender}", interval_for(rate), horizon, wanted)


def sender_slow_down(*, sender: str, seconds: float) -> None:
    """No tokens for ``sender`` for ``seconds``: the provider asked us to slow down, or its last
    message went out later than its token (the next must keep its distance from it)."""
    backend().slow_down(f"{PREFIX}tat:{sender}", seconds)


def wake_book(*, sender: str, at: float) -> bool:
    """Book ``sender``'s next slice at epoch ``at``; False if one at or before it is booked.

    A booking whose time passed ENGINE_WAKE_GRACE_SECONDS ago without its task starting (the
    task was lost with its worker, an ETA held in a killed process) no longer counts: the next
    wake-up, e.g. the sweep's, books anew."""
    grace = settings.ENGINE_WAKE_GRACE_SECONDS
    ttl = max(at - time.time(), 0) + 60
    return backend().wake_book(f"{PREFIX}wake:{sender}", at, int(ttl * 1000), grace)


def wake_done(*, sender: str, at: float) -> None:
    """The slice booked at ``at`` started: a new booking may be made."""
    backend().wake_done(f"{PREFIX}wake:{sender}", at)


def wake_booked(*, sender: str) -> float | None:
    return backend().wake_booked(f"{PREFIX}wake:{sender}")


SLICE_LOCK_SECONDS = 10.0  # a slice releases it once its messages have started (< a second)


def sender_lock(*, sender: str) -> str | None:
    """Hold ``sender`` alone (one slice at a time) for at most SLICE_LOCK_SECONDS (a holder
    that dies frees it then); returns the token to release it with, or None if another
    worker's slice holds it."""
    token = repr(time.time())
    ttl = int(SLICE_LOCK_SECONDS * 1000)
    return token if backend().lock(f"{PREFIX}slice:{sender}", token, ttl) else None


def sender_busy(*, sender: str) -> bool:
    """Whether a slice holds ``sender`` now (it books the sender's next slice itself)."""
    return backend().locked(f"{PREFIX}slice:{sender}")


def sender_unlock(*, sender: str, token: str) -> None:
    backend().lock_release(f"{PREFIX}slice:{sender}", token)


def concurrency_for(*, account: str) -> int:
    return backend().concurrency(f"{PREFIX}aimd:{account}", settings.SMS_SEND_CONCURRENCY)


def concurrency_back_off(*, account: str) -> int:
    return backend().concurrency_move(
        f"{PREFIX}aimd:{account}", settings.SMS_SEND_CONCURRENCY, "down"
    )


def concurrency_recover(*, account: str) -> int:
    return backend().concurrency_move(
        f"{PREFIX}aimd:{account}", settings.SMS_SEND_CONCURRENCY, "up"
    )
