"""The engine's queue: dispatching a broadcast and handing its recipients to the channel that sends
them.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from broadcasts.engine.channels import channel_for
from broadcasts.engine.refund import broadcast_finish_if_done
from broadcasts.models import (
    Broadcast,
    Recipient,
)

logger = logging.getLogger(__name__)
Status = Recipient.Status


def task(name: str):
    """A task of broadcasts.tasks by name: the tasks module imports the services, so the
    services find their tasks in Celery's registry instead of importing it."""
    from celery import current_app

    return current_app.tasks[f"broadcasts.tasks.{name}"]


def enqueue_dispatch(broadcast_id: int) -> None:
    task("broadcast_dispatch").delay(broadcast_id)



# --- fan-out ---


def broadcast_dispatch(*, broadcast_id: int) -> dict[str, int]:
    """Move a queued broadcast to sending and enqueue its recipients in batches.

    A second delivery of this task finds the broadcast already sending and does nothing;
    batches lost on the way are found by the sweep (pending past their time)."""
    now = timezone.now()
    moved = Broadcast.objects.filter(pk=broadcast_id, status=Broadcast.Status.QUEUED).update(
        status=Broadcast.Status.SENDING, started_at=now
    )
    if not moved:
        return {"dispatched": 0}
    pending = Recipient.objects.filter(broadcast_id=broadcast_id, status=Status.PENDING)
    pending.update(next_attempt_at=now)
    ids = list(pending.order_by("id").values_list("id", flat=True))
    enqueue_batches(broadcast_id, ids)
    if not ids:
        broadcast_finish_if_done(broadcast_id=broadcast_id)
    return {"dispatched": len(ids)}


def enqueue_batches(broadcast_id: int, ids: list[int], countdown: float = 0) -> None:
    recipients_send = task("recipients_send")
    size = settings.SMS_BATCH_SIZE
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        if countdown:
            recipients_send.apply_async((broadcast_id, chunk), countdown=countdown)
        else:
            recipients_send.delay(broadcast_id, chunk)




def recipients_send(*, broadcast_id: int, recipient_ids: list[int]) -> dict[str, int]:
    """Hand these recipients to their broadcast's channel, which claims, sends and records."""
    broadcast = Broadcast.objects.select_related("organization").get(pk=broadcast_id)
    if broadcast.status != Broadcast.Status.SENDING:
        return {"claimed": 0}
    return channel_for(broadcast.channel).send_batch(broadcast, recipient_ids)
