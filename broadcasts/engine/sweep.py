"""The sweep (every ENGINE_SWEEP_SECONDS, from celery beat): what the queue or a crash lost.

PostgreSQL is the truth; Redis only carries wake-ups and budgets. Each run, under a
non-blocking lock that is short and renewed while the run goes on (so a worker killed
mid-run holds up the next run for LOCK_SECONDS at most; a run stops after RUN_SECONDS, or as
soon as its lock is lost, and the next goes on from there):

- a broadcast still ``queued`` a while after it was created (its dispatch task was lost) is
  dispatched again (dispatch is idempotent);
- recipients whose lease expired (a worker died, or lost Redis or the database) are handed to
  their channel, which reconciles them in bulk against the provider: a message it has is
  sent, one it has not goes back to pending — batch after batch until none is left;
- pending recipients of a broadcast past its validity fail and are refunded;
- every sender with due work is woken (a wake-up booked already, e.g. after a Redis restart
  none is, makes this a no-op);
- sending broadcasts with nothing left are done.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from itertools import groupby

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from broadcasts.engine.channels import channel_for
from broadcasts.engine.pace import sender_busy
from broadcasts.engine.queue import enqueue_dispatch, sender_of, sender_wake
from broadcasts.engine.refund import broadcast_finish_if_done, finish_unsent
from broadcasts.models import Broadcast, Recipient
from smsvoice.locks import try_lock

logger = logging.getLogger(__name__)
Status = Recipient.Status

LOST_AFTER = timedelta(seconds=30)
# A claim of the engine before leases (no expiry recorded) counts as expired after this.
OLD_CLAIM_AFTER = timedelta(minutes=5)
# The sweep's lock is short and renewed while a run goes on (smsvoice.locks keep_alive): a
# worker killed mid-run (the crash the sweep is there to recover from) frees it within
# LOCK_SECONDS, not two minutes later. A run stops after RUN_SECONDS; the next goes on.
LOCK_SECONDS = 15
RUN_SECONDS = 60
RECONCILE_BATCH = 1000
VALIDITY_REASON = "Not sent within {hours} hours of the broadcast's start (validity ended)"


def broadcasts_sweep() -> dict[str, int]:
    with try_lock("broadcasts-sweep", timeout=LOCK_SECONDS, keep_alive=True) as held:
        if not held:
            return {"locked": 1}
        ends = time.monotonic() + RUN_SECONDS

        def go_on() -> bool:  # time left, and the lock still this run's
            return time.monotonic() < ends and not held.lost

        counts: Counter = Counter()
        counts["redispatched"] = _redispatch_lost()
        counts.update(_reconcile_expired(go_on))
        counts["expired"] = _fail_past_validity(go_on)
        counts["woken"] = _wake_senders()
        counts["finished"] = _finish_done()
        return dict(counts)


def _redispatch_lost() -> int:
    lost = Broadcast.objects.filter(
        status=Broadcast.Status.QUEUED, created_at__lt=timezone.now() - LOST_AFTER
    ).values_list("pk", flat=True)
    for pk in lost:
        enqueue_dispatch(pk)
    return len(lost)


def expired_leases():
    now = timezone.now()
    grace = timedelta(seconds=settings.ENGINE_LEASE_GRACE_SECONDS)
    return Recipient.objects.filter(status=Status.SENDING).filter(
        Q(lease_expires_at__lt=now - grace)
        | Q(lease_expires_at__isnull=True, claimed_at__lt=now - OLD_CLAIM_AFTER)
        | Q(lease_expires_at__isnull=True, claimed_at__isnull=True)
    )


def _reconcile_expired(go_on: Callable[[], bool]) -> Counter:
    """Reconcile every expired lease, a batch of one sender at a time, until none is left or
    the run's time is up. A batch the provider could not answer is left for the next run."""
    counts: Counter = Counter()
    skip: set[int] = set()
    while go_on():
        batch = list(
            expired_leases()
            .exclude(pk__in=skip)
            .select_related("broadcast", "organization")
            .order_by("broadcast__from_e164", "broadcast__channel", "id")[:RECONCILE_BATCH]
        )
        if not batch:
            break
        key = lambda r: (r.broadcast.channel, r.broadcast.from_e164)  # noqa: E731
        for (channel, _), group in groupby(batch, key=key):
            group = list(group)
            done = channel_for(channel).reconcile(group)
            counts.update({f"reconciled_{k}": v for k, v in done.items()})
            # Whatever the provider could not settle now (no answer, a call still under way)
            # waits for the next run; this one goes on with the rest.
            skip.update(r.pk for r in group)
            for broadcast in {r.broadcast for r in group}:
                sender_wake(sender=sender_of(broadcast), lane=broadcast.lane)
    return counts


def _fail_past_validity(go_on: Callable[[], bool]) -> int:
    hours = round(settings.ENGINE_VALIDITY_SECONDS / 3600, 1)
    reason = VALIDITY_REASON.format(hours=f"{hours:g}")
    late = Recipient.objects.filter(
        status=Status.PENDING,
        broadcast__status=Broadcast.Status.SENDING,
        broadcast__valid_until__lt=timezone.now(),
    ).select_related("organization")
    failed = 0
    for recipient in late.iterator(chunk_size=500):
        if not go_on():
            break  # the next run goes on
        failed += finish_unsent(
            recipient,
            Status.FAILED,
            from_states=(Status.PENDING,),
            error_code="validity",
            error_message=reason,
        )
    return failed


def _wake_senders() -> int:
    """Wake each sender that has due work; a no-op where a wake-up is already booked or a
    slice is sending for it right now (that slice books the next)."""
    due = Broadcast.objects.filter(
        Q(recipients__next_attempt_at__lte=timezone.now())
        | Q(recipients__next_attempt_at__isnull=True),
        status=Broadcast.Status.SENDING,
        recipients__status=Status.PENDING,
    ).distinct()
    woken = 0
    for broadcast in due.only("channel", "from_e164", "lane"):
        sender = sender_of(broadcast)
        if not sender_busy(sender=sender):
            woken += sender_wake(sender=sender, lane=broadcast.lane)
    return woken


def _finish_done() -> int:
    sending = Broadcast.objects.filter(status=Broadcast.Status.SENDING).values_list("pk", flat=True)
    return sum(broadcast_finish_if_done(broadcast_id=pk) for pk in sending)
