"""One slice of a sender's work: take budget, claim, send at each token's time, record, go.

    sender_run(sender)
      tokens = what the sender may send in the next moment     (pace: GCRA in Redis)
      claim that many due recipients, under a lease            (lease: fenced, expiring)
      book the sender's next slice at the next token's time    (queue: maybe another worker)
      send each at its time, many in flight, on the loop thread (loop: no database there)
      record results as they come, every ENGINE_FLUSH_SECONDS  (record: sent, retry, refund)
      renew the lease while sending; stop sending before it runs out

A sender with no budget left is woken when its next token is due, never waited on; a worker
never sleeps while it holds a claim (it waits only for the tokens of the moment it claimed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from itertools import groupby

from django.conf import settings
from django.db.models import Min, Q
from django.utils import timezone

from broadcasts.engine import loop
from broadcasts.engine.channels import Channel, channel_for
from broadcasts.engine.lease import Lease, lease_claim, lease_release, lease_renew
from broadcasts.engine.pace import (
    SLICE_LOCK_SECONDS,
    Tokens,
    concurrency_back_off,
    concurrency_for,
    concurrency_recover,
    sender_lock,
    sender_slow_down,
    sender_unlock,
    tokens_peek,
    tokens_take,
    wake_done,
)
from broadcasts.engine.queue import sender_wake
from broadcasts.engine.record import Outcome, Recorded
from broadcasts.engine.refund import broadcast_finish_if_done
from broadcasts.models import Broadcast, Recipient

logger = logging.getLogger(__name__)
Status = Recipient.Status
# Messages due within this much of each other start together (a fast sender's spacing is
# below the event loop's timer resolution; a slow one's never is).
BATCH_SECONDS = 0.002
WIRE_WAIT_MIN_INTERVAL = 0.02
# Results recorded in one flush at most (one statement each for rows and audit entries).
FLUSH_MAX = 500


def sender_run(*, sender: str, at: float | None = None) -> dict[str, int]:
    """One slice for ``sender`` (``channel:+E164``); the task booked at ``at`` runs this."""
    if at is not None:
        wake_done(sender=sender, at=at)
    channel_name, e164 = sender.split(":", 1)
    channel = channel_for(channel_name)
    broadcasts = senders_broadcasts(channel=channel_name, e164=e164)
    if not broadcasts:
        return {"idle": 1}
    rate = channel.rate(e164)
    if rate > settings.ENGINE_PARALLEL_MIN_RATE:
        return _slice(channel, sender, broadcasts, rate, hold=None)
    # A slower sender is sent one slice at a time, by one worker: whoever holds it books the
    # next slice once its last message has started, keeping the distance whatever the load.
    hold = sender_lock(sender=sender)
    if hold is None:  # its holder books the next slice; should it die, the lock expires
        sender_wake(sender=sender, delay=SLICE_LOCK_SECONDS, lane=broadcasts[0].lane)
        return {"busy": 1}
    try:
        return _slice(channel, sender, broadcasts, rate, hold=hold)
    finally:
        sender_unlock(sender=sender, token=hold)


def _slice(channel, sender: str, broadcasts, rate: float, *, hold: str | None) -> dict[str, int]:
    lane = broadcasts[0].lane
    budget, wait = tokens_peek(sender=sender, rate=rate, wanted=settings.ENGINE_SLICE_MAX)
    if not budget:
        sender_wake(sender=sender, delay=wait, lane=lane)
        return {"throttled": 1}
    lease = Lease()
    claimed = lease_claim(broadcasts=broadcasts, count=budget, lease=lease)
    if not claimed:
        _wake_when_due(sender, broadcasts)
        for broadcast in broadcasts:
            broadcast_finish_if_done(broadcast_id=broadcast.pk)
        return {"claimed": 0}
    # Tokens are reserved only now, just before sending, so the first one is not spent
    # waiting on the claim; another worker may have taken some meanwhile.
    tokens = tokens_take(sender=sender, rate=rate, wanted=len(claimed))
    anchor = time.monotonic()
    claimed, extra = claimed[: tokens.count], claimed[tokens.count :]
    lease_release(lease=lease, ids=[r.pk for r in extra])
    if not claimed:
        sender_wake(sender=sender, delay=tokens.retry_in, lane=lane)
        return {"throttled": 1}
    then = None
    if hold is None:
        # A fast sender's next slice may start on another worker while this one still sends.
        sender_wake(sender=sender, delay=tokens.due_in(len(claimed)), lane=lane)
    else:

        def then(last: float) -> None:
            gap = max(last + tokens.interval - time.monotonic(), 0.0) if last else 0.0
            if gap:
                sender_slow_down(sender=sender, seconds=gap)
            sender_unlock(sender=sender, token=hold)  # the next slice may now take over
            sender_wake(sender=sender, delay=gap, lane=lane)

    work = _prepared(channel, broadcasts, claimed)
    recorded = _send(channel, sender, work, tokens, lease, anchor, then)
    recorded.counts["claimed"] = len(claimed)
    _after(sender, lane, recorded)
    for broadcast_id in {r.broadcast_id for r in claimed}:
        broadcast_finish_if_done(broadcast_id=broadcast_id)
    return dict(recorded.counts)


def senders_broadcasts(*, channel: str, e164: str) -> list[Broadcast]:
    """The sender's broadcasts that are sending and still valid, small or urgent first."""
    return list(
        Broadcast.objects.select_related("organization")
        .filter(
            channel=channel,
            from_e164=e164,
            status=Broadcast.Status.SENDING,
        )
        # Broadcasts dispatched before validity existed have none: they are always valid.
        .filter(Q(valid_until__gt=timezone.now()) | Q(valid_until__isnull=True))
        .order_by("lane", "id")
    )


def _wake_when_due(sender: str, broadcasts: list[Broadcast]) -> None:
    """Nothing due now: wake the sender when its earliest waiting recipient is due."""
    due = Recipient.objects.filter(
        broadcast__in=broadcasts, status=Status.PENDING, next_attempt_at__isnull=False
    ).aggregate(at=Min("next_attempt_at"))["at"]
    if due is not None:
        delay = (due - timezone.now()).total_seconds()
        sender_wake(sender=sender, delay=max(delay, 0.0) + 0.01, lane=broadcasts[0].lane)


def _prepared(channel: Channel, broadcasts, claimed: list[Recipient]) -> list[Outcome]:
    """The claimed recipients still to send, as outcomes to fill in (in claim order)."""
    by_id = {b.pk: b for b in broadcasts}
    work = []
    for broadcast_id, group in groupby(claimed, key=lambda r: r.broadcast_id):
        broadcast = by_id[broadcast_id]
        work += [Outcome(broadcast, r) for r in channel.prepare(broadcast, list(group))]
    return work


def _after(sender: str, lane: int, recorded: Recorded) -> None:
    account = settings.TWILIO_ACCOUNT_SID or "outbox"
    if recorded.slow_down is not None:
        sender_slow_down(sender=sender, seconds=recorded.slow_down)
        concurrency_back_off(account=account)
    elif recorded.counts.get("sent"):
        concurrency_recover(account=account)
    if recorded.due_in is not None:
        sender_wake(sender=sender, delay=recorded.due_in, lane=lane)


# --- sending a slice ---------------------------------------------------------------------------


def _send(channel, sender: str, work, tokens: Tokens, lease: Lease, anchor: float, then=None):
    """Send the slice; ``anchor`` is the monotonic time the tokens were reserved at, and
    ``then(last)`` is called once every message has started (``last``: when the last did)."""
    recorded = Recorded()
    if not work:
        if then is not None:
            then(0.0)
        return recorded
    results = Results(len(work))
    account = settings.TWILIO_ACCOUNT_SID or "outbox"
    send = channel.sender()
    emitted = Emitted(anchor=anchor, tokens=tokens)
    if channel.sends_inline():
        _emit_inline(work, emitted, lease, send, results.put)
        done = None
    else:
        limit = concurrency_for(account=account)
        done = loop.submit(_emit(work, emitted, lease, send, results.put, limit))
    _collect(channel, work, lease, results, done, recorded, emitted, then)
    # A message that went out later than its token pushes the sender's next token back, so
    # the next slice (maybe on another worker) keeps its distance from it.
    if emitted.last and (behind := emitted.last + tokens.interval - time.monotonic()) > 0:
        sender_slow_down(sender=sender, seconds=behind)
    return recorded


class Emitted:
    """When each message of a slice may start (from the reserved tokens) and when the last
    one did (time.monotonic(); shared by the sending thread and the worker's thread)."""

    def __init__(self, *, anchor: float, tokens: Tokens) -> None:
        self.anchor, self.tokens, self.last = anchor, tokens, 0.0
        self.all_started = threading.Event()
        self.on_all_started: Callable[[], None] | None = None

    def started_all(self) -> None:
        self.all_started.set()
        if self.on_all_started is not None:
            self.on_all_started()

    def start_at(self, index: int) -> float:
        at = self.anchor + self.tokens.due_in(index)
        return max(at, self.last + self.tokens.interval) if self.last else at


def _collect(channel, work, lease, results, done, recorded: Recorded, emitted, then) -> None:
    """Drain results in the main thread, recording them in small flushes as they arrive;
    call ``then`` as soon as every message has started.

    The main thread sleeps until a flush is due (ENGINE_FLUSH_SECONDS), the sending thread
    has a flush's worth of results, every message has started or every result is in
    (``results.wake``): woken once a flush, not once a message, so it does not take the GIL
    from the sending loop a thousand times a slice."""
    waiting = {o.recipient.pk for o in work}
    buffer: list[Outcome] = []
    flushed_at = time.monotonic()
    if done is not None:
        done.add_done_callback(lambda _: results.wake.set())
    emitted.on_all_started = results.wake.set
    if emitted.all_started.is_set():
        results.wake.set()
    while waiting or then is not None:
        if then is not None and (emitted.all_started.is_set() or not waiting):
            then(emitted.last)
            then = None
        if not waiting:
            break
        # Nothing buffered: sleep a whole flush interval (results wake it sooner).
        since = flushed_at if buffer else time.monotonic()
        results.wake.wait(
            timeout=max(since + settings.ENGINE_FLUSH_SECONDS - time.monotonic(), 0.001)
        )
        results.wake.clear()
        for outcome in results.drain():
            buffer.append(outcome)
            waiting.discard(outcome.recipient.pk)
        if waiting and done is not None and done.done() and not results.pending():
            _lost(done, work, waiting, lease, recorded)
            waiting = set()
        age = time.monotonic() - flushed_at
        if buffer and (
            not waiting or age >= settings.ENGINE_FLUSH_SECONDS or len(buffer) >= FLUSH_MAX
        ):
            recorded.merge(channel.record(buffer, lease))
            buffer, flushed_at = [], time.monotonic()
        if waiting and lease.renewal_due:
            lease_renew(lease=lease, ids=list(waiting))
    if buffer:
        recorded.merge(channel.record(buffer, lease))
    if then is not None:  # the sending coroutine failed before it started them all
        then(emitted.last)


class Results:
    """Outcomes handed from the sending thread to the main thread: appended as they come,
    taken in bulk; ``wake`` is set when there is a flush's worth, or the last one is in."""

    def __init__(self, expected: int) -> None:
        self.items: deque[Outcome] = deque()
        self.wake = threading.Event()
        self.left = expected

    def put(self, outcome: Outcome) -> None:
        self.items.append(outcome)
        self.left -= 1  # only the sending thread writes it
        if self.left <= 0 or len(self.items) >= FLUSH_MAX:
            self.wake.set()

    def drain(self) -> list[Outcome]:
        taken = []
        while self.items:
            taken.append(self.items.popleft())
        return taken

    def pending(self) -> bool:
        return bool(self.items)


def _lost(done, work, waiting: set[int], lease: Lease, recorded: Recorded) -> None:
    """The sending coroutine ended without a result for some rows (a bug): give them back."""
    if done.exception() is not None:
        logger.error("sending coroutine failed", exc_info=done.exception())
    recorded.counts["unsent"] += lease_release(lease=lease, ids=list(waiting))
    recorded.due_in = 1.0


async def _emit(work, emitted: Emitted, lease: Lease, send, put: Callable, limit: int) -> None:
    """Start each send at its token's time (never two closer than the sender's interval),
    at most ``limit`` in flight; every result goes to ``put`` as it comes."""
    slots = asyncio.Semaphore(limit)
    # A slow sender waits until each request is on the wire before it times the next one:
    # a process's first request (a new connection) can leave a hundred milliseconds late.
    wait_for_wire = emitted.tokens.interval >= WIRE_WAIT_MIN_INTERVAL

    async def one(outcome: Outcome, wired: asyncio.Event) -> None:
        def left(at: float) -> None:  # on this loop, when the request's headers were sent
            emitted.last = max(emitted.last, at)
            wired.set()

        try:
            outcome.sid = await send(outcome.broadcast, outcome.recipient, left)
        except Exception as error:  # every failure is recorded, none is lost
            outcome.error = error
        finally:
            wired.set()
            slots.release()
            put(outcome)

    pending = []
    index = 0
    while index < len(work):
        if (wait := emitted.start_at(index) - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        # Start every message whose time has come, without a sleep between them: the loop's
        # timer has millisecond steps, so at thousands a second a sleep each would be the limit.
        batch_ends = time.monotonic() + BATCH_SECONDS
        while index < len(work) and emitted.start_at(index) <= batch_ends:
            outcome = work[index]
            index += 1
            await slots.acquire()
            if not lease.may_send:
                slots.release()
                outcome.unsent = True
                put(outcome)
                continue
            emitted.last = time.monotonic()
            wired = asyncio.Event()
            pending.append(asyncio.ensure_future(one(outcome, wired)))
            if wait_for_wire:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wired.wait(), timeout=emitted.tokens.interval)
    emitted.started_all()
    if pending:
        await asyncio.gather(*pending)


def _emit_inline(work, emitted: Emitted, lease: Lease, send, put: Callable) -> None:
    """The same, one at a time in this thread: for a provider that writes to the database
    itself (the outbox of the embedded default)."""
    for index, outcome in enumerate(work):
        if (wait := emitted.start_at(index) - time.monotonic()) > 0:
            time.sleep(wait)
        if not lease.may_send:
            outcome.unsent = True
        else:
            emitted.last = time.monotonic()
            try:
                outcome.sid = send(outcome.broadcast, outcome.recipient)
            except Exception as error:  # every failure is recorded, none is lost
                outcome.error = error
        put(outcome)
    emitted.started_all()
