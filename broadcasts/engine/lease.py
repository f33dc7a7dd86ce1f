"""Leases: how a worker takes recipients to send, holds them, and gives back what it did not send.

A claim moves pending recipients to ``sending`` with a lease: a random fencing token and an
expiry (ENGINE_LEASE_SECONDS). Every later write of the holder is conditional on its token,
so once the sweep has taken an expired lease over, a late worker's writes change nothing.
The holder renews its lease while it works, and stops sending at ``Lease.send_deadline``,
early enough that a request started before it has finished (or timed out) before the lease
expires; the sweep touches only leases expired for ENGINE_LEASE_GRACE_SECONDS more. So a
recipient is never sent by two workers: the sweep finds a message the late one did send in
the provider's list.

Claims are ordered: a sender's broadcasts by lane (small or urgent first), then oldest first,
and within a broadcast retries that came due first, then the rest (never given a time: due
since dispatch) by id — the order of the ``recipient_due`` index, so no claim sorts. On
PostgreSQL one statement per broadcast picks the rows ``FOR UPDATE SKIP LOCKED`` and updates
them, so two workers claiming at once never wait on each other.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from broadcasts.engine.refund import finish_unsent
from broadcasts.models import Broadcast, Recipient

Status = Recipient.Status


@dataclass
class Lease:
    """What one worker holds: the fencing token of its claim and until when it may send."""

    token: int = field(default_factory=lambda: secrets.randbits(62) + 1)
    send_deadline: float = 0.0  # time.monotonic() after which nothing more is sent
    renewed_at: float = 0.0

    def start(self) -> timedelta:
        seconds = settings.ENGINE_LEASE_SECONDS
        self.renewed_at = time.monotonic()
        # A request may take TWILIO_TIMEOUT; it must end before the lease does.
        self.send_deadline = self.renewed_at + seconds - settings.TWILIO_TIMEOUT - 2
        return timedelta(seconds=seconds)

    @property
    def may_send(self) -> bool:
        return time.monotonic() < self.send_deadline

    @property
    def renewal_due(self) -> bool:
        return time.monotonic() - self.renewed_at > settings.ENGINE_LEASE_SECONDS / 3


def lease_claim(*, broadcasts: Sequence[Broadcast], count: int, lease: Lease) -> list[Recipient]:
    """Claim up to ``count`` due pending recipients of these broadcasts, in this order.

    Each claimed row's organization is its broadcast's (the same object for all): a join
    made an Organization for each of a slice's thousand rows, a fifth of the claim's time."""
    expires_at = timezone.now() + lease.start()
    ids: list[int] = []
    for broadcast in broadcasts:
        if len(ids) >= count:
            break
        ids += _claim_from(broadcast.pk, count - len(ids), lease.token, expires_at)
    if not ids:
        return []
    place = {b.pk: (i, b.organization) for i, b in enumerate(broadcasts)}
    claimed = sorted(
        Recipient.objects.filter(id__in=ids), key=lambda r: (place[r.broadcast_id][0], r.id)
    )
    for recipient in claimed:
        recipient.organization = place[recipient.broadcast_id][1]
    return claimed


def _claim_from(broadcast_id: int, count: int, token: int, expires_at) -> list[int]:
    now = timezone.now()
    if connection.vendor == "postgresql":
        table = Recipient._meta.db_table
        # The rows are picked once, in a materialized CTE: as ``WHERE id IN (SELECT … LIMIT n
        # FOR UPDATE SKIP LOCKED)`` the planner may run the subquery again per row and claim
        # more than n (more than the budget allows).
        sql = (
            f"WITH picked AS MATERIALIZED (SELECT id FROM {table} "  # noqa: S608
            "WHERE broadcast_id = %s AND status = %s "
            "AND (next_attempt_at <= %s OR next_attempt_at IS NULL) "
            "ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED) "
            f"UPDATE {table} AS r SET status = %s, lease_token = %s, lease_expires_at = %s, "
            "claimed_at = %s FROM picked WHERE r.id = picked.id AND r.status = %s "
            "RETURNING r.id"
        )
        params = [broadcast_id, Status.PENDING, now, count]
        params += [Status.SENDING, token, expires_at, now, Status.PENDING]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]
    with transaction.atomic():  # SQLite: one writer at a time, no SKIP LOCKED needed
        due = Recipient.objects.filter(broadcast_id=broadcast_id, status=Status.PENDING).filter(
            Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True)
        )
        order = (F("next_attempt_at").asc(nulls_last=True), "id")
        ids = list(due.order_by(*order).values_list("id", flat=True)[:count])
        Recipient.objects.filter(id__in=ids, status=Status.PENDING).update(
            status=Status.SENDING, lease_token=token, lease_expires_at=expires_at, claimed_at=now
        )
    return ids


def held(lease: Lease, ids: list[int]):
    """The rows of ``ids`` this lease still holds (the fence of every write by its holder)."""
    return Recipient.objects.filter(id__in=ids, status=Status.SENDING, lease_token=lease.token)


def lease_renew(*, lease: Lease, ids: list[int]) -> bool:
    """Extend the lease of the rows still held; a holder that cannot renew stops sending."""
    if not ids:
        return True
    try:
        expires_at = timezone.now() + lease.start()
        held(lease, ids).update(lease_expires_at=expires_at)
    except Exception:  # the database is away: stop sending before the lease runs out
        lease.send_deadline = 0.0
        return False
    return True


def lease_release(
    *, lease: Lease, ids: list[int], delay: float = 0.0, error_code: str = "", error_message=""
) -> int:
    """Give held rows back to pending, due in ``delay`` seconds (not an attempt)."""
    if not ids:
        return 0
    return held(lease, ids).update(
        status=Status.PENDING,
        lease_token=None,
        lease_expires_at=None,
        claimed_at=None,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        error_code=error_code[:20],
        error_message=str(error_message)[:300],
    )


def skip_listed(claimed: list[Recipient], *, opted_out, reason: str) -> list[Recipient]:
    """Skip and refund the claimed recipients whose number is in ``opted_out`` (a queryset of
    rows with an ``e164``) now; return the others, still to be sent."""
    stopped = set(
        opted_out.filter(e164__in=[r.e164 for r in claimed]).values_list("e164", flat=True)
    )
    for recipient in claimed:
        if recipient.e164 in stopped:
            finish_unsent(recipient, Status.SKIPPED, reason=reason, from_states=(Status.SENDING,))
    return [r for r in claimed if r.e164 not in stopped]
