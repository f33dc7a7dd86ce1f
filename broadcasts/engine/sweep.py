"""The sweep: work the queue lost and sends a crash interrupted."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from broadcasts.engine.channels import channel_for
from broadcasts.engine.queue import enqueue_batches, enqueue_dispatch
from broadcasts.engine.refund import broadcast_finish_if_done
from broadcasts.models import (
    Broadcast,
    Recipient,
)
from smsvoice.locks import try_lock

logger = logging.getLogger(__name__)
Status = Recipient.Status


# --- the sweep: lost tasks and crashed workers ---

LOST_AFTER = timedelta(minutes=2)
STUCK_AFTER = timedelta(minutes=5)


def broadcasts_sweep() -> dict[str, int]:
    """Find work the queue lost and sends a crash interrupted; runs every minute under a lock.

    PostgreSQL is the truth: a queued broadcast or a pending recipient past its time whose
    task never ran is enqueued again (claims make a duplicate harmless); a recipient left in
    ``sending`` by a crash is looked up at the provider instead of being sent blindly twice.
    """
    with try_lock("broadcasts-sweep", timeout=120) as mine:
        if not mine:
            return {"locked": 1}
        now = timezone.now()
        counts = {"redispatched": 0, "requeued": 0, "reconciled": 0, "finished": 0}
        for pk in Broadcast.objects.filter(
            status=Broadcast.Status.QUEUED, created_at__lt=now - LOST_AFTER
        ).values_list("pk", flat=True):
            enqueue_dispatch(pk)
            counts["redispatched"] += 1
        lost = Recipient.objects.filter(
            status=Status.PENDING,
            next_attempt_at__lt=now - LOST_AFTER,
            broadcast__status=Broadcast.Status.SENDING,
        )
        by_broadcast: dict[int, list[int]] = {}
        for pk, broadcast_id in lost.values_list("pk", "broadcast_id")[:50_000]:
            by_broadcast.setdefault(broadcast_id, []).append(pk)
        for broadcast_id, ids in by_broadcast.items():
            Recipient.objects.filter(pk__in=ids, status=Status.PENDING).update(next_attempt_at=now)
            enqueue_batches(broadcast_id, ids)
            counts["requeued"] += len(ids)
        for recipient in Recipient.objects.filter(
            status=Status.SENDING, claimed_at__lt=now - STUCK_AFTER
        ).select_related("broadcast", "organization")[:1000]:
            counts["reconciled"] += channel_for(recipient.broadcast.channel).reconcile(recipient)
        for pk in Broadcast.objects.filter(status=Broadcast.Status.SENDING).values_list(
            "pk", flat=True
        ):
            counts["finished"] += broadcast_finish_if_done(broadcast_id=pk)
        return counts




