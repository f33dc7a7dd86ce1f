"""Ending recipients that were not sent (failed, undelivered, skipped), each refunded by its own
ledger entry, and finishing or cancelling broadcasts.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from broadcasts.models import (
    Broadcast,
    Recipient,
)
from credits.services import credits_refund

logger = logging.getLogger(__name__)
Status = Recipient.Status


def finish_unsent(
    recipient: Recipient,
    status: str,
    *,
    from_states: tuple[str, ...],
    reason: str = "",
    error_code: str = "",
    error_message: str = "",
    lease_token: int | None = None,
) -> bool:
    """Move a recipient to failed / undelivered / skipped and refund it, atomically and once.

    ``lease_token``: only if that lease still holds it (a worker's write, fenced)."""
    rows = Recipient.objects.filter(pk=recipient.pk, status__in=from_states)
    if lease_token is not None:
        rows = rows.filter(lease_token=lease_token)
    with transaction.atomic():
        moved = rows.update(
            status=status,
            lease_expires_at=None,
            reason=reason or recipient.reason,
            error_code=error_code,
            error_message=error_message,
            finished_at=timezone.now(),
        )
        if moved and recipient.credits:
            credits_refund(
                organization=recipient.organization,
                credits=recipient.credits,
                reference=recipient.refund_reference,
                memo=f"{Status(status).label}: {recipient.e164} "
                f"(broadcast {recipient.broadcast_id})",
            )
    return bool(moved)


def broadcast_finish_if_done(*, broadcast_id: int) -> bool:
    unfinished = Recipient.objects.filter(
        broadcast_id=broadcast_id, status__in=(Status.PENDING, Status.SENDING)
    )
    if unfinished.exists():
        return False
    return bool(
        Broadcast.objects.filter(pk=broadcast_id, status=Broadcast.Status.SENDING).update(
            status=Broadcast.Status.DONE, finished_at=timezone.now()
        )
    )


def broadcast_cancel(*, broadcast: Broadcast) -> int:
    """Stop what has not gone out yet; each unsent recipient is refunded."""
    Broadcast.objects.filter(
        pk=broadcast.pk, status__in=(Broadcast.Status.QUEUED, Broadcast.Status.SENDING)
    ).update(status=Broadcast.Status.CANCELLED, finished_at=timezone.now())
    cancelled = 0
    for recipient in Recipient.objects.filter(broadcast=broadcast, status=Status.PENDING):
        cancelled += finish_unsent(
            recipient,
            Status.SKIPPED,
            from_states=(Status.PENDING,),
            reason=Recipient.Reason.CANCELLED,
        )
    return cancelled




