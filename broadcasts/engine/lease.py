"""Claiming recipients for one worker (conditional updates), and skipping claimed numbers that
opted out meanwhile.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from broadcasts.engine.refund import finish_unsent
from broadcasts.models import (
    Recipient,
)

logger = logging.getLogger(__name__)
Status = Recipient.Status


def recipients_claim(recipient_ids: list[int]) -> list[Recipient]:
    """Take pending recipients for this worker: a conditional update, so a duplicated task
    delivery or a second worker finds nothing left to send."""
    now = timezone.now()
    with transaction.atomic():
        mine = list(
            Recipient.objects.select_for_update(skip_locked=True)
            .filter(id__in=recipient_ids, status=Status.PENDING)
            .values_list("id", flat=True)
        )
        Recipient.objects.filter(id__in=mine, status=Status.PENDING).update(
            status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    return list(Recipient.objects.filter(id__in=mine, status=Status.SENDING).order_by("id"))




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




