"""The engine's queue: work waits in PostgreSQL per sender; Celery only carries wake-ups.

A *sender* is a sending number on one channel (``sms:+15550001111``, ``voice:+1555…``). Its
work is the pending recipients of its broadcasts that are ``sending``. ``broadcast_dispatch``
makes a queued broadcast's recipients due and wakes its sender; ``sender_wake`` books one
``sender_run`` task for the sender at a time (``pace.wake_book``), at the moment its budget
allows the next slice. Each slice is short (what the budget covers in the next moment), so
senders with work take turns on the workers: one school's large or slow broadcast never holds
a worker while another's waits. Slices of small or urgent broadcasts are queued at a higher
Celery priority than bulk ones.

Without a broker (the embedded default, and tests with tasks in-process) there is no one to
run a task later: the caller drains the sender itself, sleeping between slices while it holds
no claim, for as long as the next slice is due within ENGINE_INLINE_WAIT_SECONDS.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from broadcasts.engine import pace
from broadcasts.engine.refund import broadcast_finish_if_done
from broadcasts.models import Broadcast, Recipient, SendingNumber

logger = logging.getLogger(__name__)
Status = Recipient.Status

# Celery priorities on Redis: lower is served first (the broker checks each level in turn).
PRIORITY_LANE = 3
BULK_LANE = 6


def task(name: str):
    """A task of broadcasts.tasks by name: the tasks module imports the services, so the
    services find their tasks in Celery's registry instead of importing it."""
    from celery import current_app

    return current_app.tasks[f"broadcasts.tasks.{name}"]


def sender_of(broadcast: Broadcast) -> str:
    return f"{broadcast.channel}:{broadcast.from_e164}"


def enqueue_dispatch(broadcast_id: int) -> None:
    task("broadcast_dispatch").delay(broadcast_id)


def broadcast_lane(broadcast: Broadcast) -> int:
    small = broadcast.recipient_count <= settings.ENGINE_PRIORITY_MAX_RECIPIENTS
    return Broadcast.Lane.PRIORITY if broadcast.urgent or small else Broadcast.Lane.BULK


def broadcast_dispatch(*, broadcast_id: int) -> dict[str, int]:
    """Move a queued broadcast to sending and wake its sender.

    A second delivery finds the broadcast already sending and does nothing."""
    broadcast = Broadcast.objects.filter(pk=broadcast_id).first()
    if broadcast is None:
        return {"dispatched": 0}
    now = timezone.now()
    moved = Broadcast.objects.filter(pk=broadcast_id, status=Broadcast.Status.QUEUED).update(
        status=Broadcast.Status.SENDING,
        started_at=now,
        lane=broadcast_lane(broadcast),
        valid_until=now + timedelta(seconds=settings.ENGINE_VALIDITY_SECONDS),
        messaging_service_sid=broadcast.messaging_service_sid or _service_of(broadcast),
    )
    if not moved:
        return {"dispatched": 0}
    # Its pending recipients are due already (no time yet means now): nothing to write.
    if not Recipient.objects.filter(broadcast_id=broadcast_id, status=Status.PENDING).exists():
        broadcast_finish_if_done(broadcast_id=broadcast_id)
        return {"dispatched": 0}
    sender_wake(sender=sender_of(broadcast), lane=broadcast_lane(broadcast))
    return {"dispatched": broadcast.recipient_count}


def _service_of(broadcast: Broadcast) -> str:
    """Texts go through the number's Messaging Service when it has one (calls never do)."""
    if broadcast.channel != Broadcast.Channel.SMS:
        return ""
    number = SendingNumber.objects.filter(
        e164=broadcast.from_e164, status=SendingNumber.Status.ACTIVE
    ).first()
    return number.messaging_service_sid if number else ""


def broadcast_wake(*, broadcast_id: int) -> dict[str, int]:
    """Wake the sender of a sending broadcast (its work is in the database already)."""
    broadcast = Broadcast.objects.filter(pk=broadcast_id, status=Broadcast.Status.SENDING).first()
    if broadcast is None:
        return {"woken": 0}
    return {"woken": int(sender_wake(sender=sender_of(broadcast), lane=broadcast.lane))}


_inline = threading.local()


def _tasks_in_process() -> bool:
    from celery import current_app

    return bool(current_app.conf.task_always_eager)


def sender_wake(*, sender: str, delay: float = 0.0, lane: int = Broadcast.Lane.BULK) -> bool:
    """Have ``sender``'s next slice run in ``delay`` seconds, unless one is due sooner."""
    at = time.time() + max(delay, 0.0)
    if not pace.wake_book(sender=sender, at=at):
        return False
    if _tasks_in_process():
        _drain_inline(sender)
        return True
    priority = PRIORITY_LANE if lane == Broadcast.Lane.PRIORITY else BULK_LANE
    # A worker's timer runs countdowns late by up to a fraction of a second: a slice due
    # sooner than that is queued now and waits for its first token itself (it claims only
    # what falls within the horizon, so it never holds work for longer than that).
    soon = delay < settings.ENGINE_COUNTDOWN_MIN_SECONDS
    countdown = None if soon else delay
    task("sender_run").apply_async((sender, at), countdown=countdown, priority=priority)
    return True


def _drain_inline(sender: str) -> None:
    """No broker: run the sender's slices here until nothing is due soon. Re-entrant calls
    (a slice waking its own sender) only book; the outer loop picks the booking up."""
    draining = _inline.__dict__.setdefault("senders", set())
    if sender in draining:
        return
    sender_run = task("sender_run")  # called directly: runs here, now
    draining.add(sender)
    try:
        while (at := pace.wake_booked(sender=sender)) is not None:
            wait = at - time.time()
            if wait > settings.ENGINE_INLINE_WAIT_SECONDS:
                break
            if wait > 0:
                time.sleep(wait)  # no claim is held here
            sender_run(sender, at)
    finally:
        draining.discard(sender)
