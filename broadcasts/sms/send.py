"""Sending claimed SMS recipients through the provider, recording outcomes, retrying what may be
retried, and reconciling a recipient a crash left in sending.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from broadcasts.engine.channels import Channel, channel_register
from broadcasts.engine.lease import recipients_claim, skip_listed
from broadcasts.engine.queue import enqueue_batches
from broadcasts.engine.record import audit_fields, audit_row, error_details, mark_sent
from broadcasts.engine.refund import broadcast_finish_if_done, finish_unsent
from broadcasts.models import (
    AuditLogEntry,
    Broadcast,
    Recipient,
    SendingNumber,
)
from broadcasts.providers import sms_provider
from broadcasts.sms.delivery import apply_early_receipts
from families.models import OptOut

logger = logging.getLogger(__name__)
Status = Recipient.Status


@dataclass
class _Outcome:
    recipient: Recipient
    sid: str = ""
    error: Exception | None = None




def sms_batch_send(broadcast: Broadcast, recipient_ids: list[int]) -> dict[str, int]:
    """Claim these recipients, send them with many requests in flight, record the results."""
    claimed = recipients_claim(recipient_ids)
    if not claimed:
        return {"claimed": 0}
    to_send = _skip_unsubscribed(broadcast, claimed)
    mps = (
        SendingNumber.objects.filter(e164=broadcast.from_e164, status="active")
        .values_list("messages_per_second", flat=True)
        .first()
        or settings.SMS_DEFAULT_MPS
    )
    outcomes = _send_all(broadcast, to_send, mps)
    counts = _record(broadcast, outcomes)
    counts["claimed"] = len(claimed)
    counts["skipped"] = len(claimed) - len(to_send)
    broadcast_finish_if_done(broadcast_id=broadcast.pk)
    return counts


def _skip_unsubscribed(broadcast: Broadcast, claimed: list[Recipient]) -> list[Recipient]:
    """A number that texted STOP after the broadcast was created is skipped and refunded."""
    return skip_listed(
        claimed,
        opted_out=OptOut.objects.for_org(broadcast.organization),
        reason=Recipient.Reason.UNSUBSCRIBED,
    )




def _send_all(broadcast: Broadcast, recipients: list[Recipient], mps: int) -> list[_Outcome]:
    callback = settings.SITE_URL + reverse("broadcasts:twilio_status")
    if settings.SMS_BACKEND == "outbox":  # the outbox writes to the (SQLite) database itself
        return [_send_one_outbox(broadcast, r, mps, callback) for r in recipients]
    from broadcasts.engine.fanout import send_concurrently
    from broadcasts.providers import twilio as twilio_gateway

    async def send(recipient: Recipient) -> str:
        sent = await twilio_gateway.sms_send_async(
            to=recipient.e164,
            from_=broadcast.from_e164,
            body=recipient.text,
            status_callback=callback,
        )
        return sent.sid

    results = send_concurrently(recipients, sender=broadcast.from_e164, per_second=mps, send=send)
    return [_Outcome(recipient, sid=sid, error=error) for recipient, sid, error in results]


def _send_one_outbox(broadcast: Broadcast, recipient: Recipient, mps: int, callback: str):
    from broadcasts.engine.pace import pace

    pace(sender=broadcast.from_e164, per_second=mps)
    try:
        sent = sms_provider().sms_send(
            to=recipient.e164,
            from_=broadcast.from_e164,
            body=recipient.text,
            status_callback=callback,
        )
    except Exception as error:  # every failure is recorded, none is lost
        return _Outcome(recipient, error=error)
    return _Outcome(recipient, sid=sent.sid)


def _record(broadcast: Broadcast, outcomes: list[_Outcome]) -> dict[str, int]:
    """Write a batch's results: sent rows and their audit entries in bulk, failures refunded,
    retryable errors back to pending for a later try."""
    from broadcasts.providers.twilio import ProviderError

    now = timezone.now()
    left = _resolve_ambiguous(broadcast, outcomes)
    accepted = [o for o in outcomes if o.sid]
    retry, failed = [], []
    for outcome in outcomes:
        if outcome.sid or outcome in left:
            continue
        error = outcome.error
        retryable = not isinstance(error, ProviderError) or not error.permanent
        attempts_left = outcome.recipient.attempts < settings.SMS_MAX_ATTEMPTS
        (retry if retryable and attempts_left else failed).append(outcome)
    with transaction.atomic():
        for outcome in accepted:
            outcome.recipient.status, outcome.recipient.provider_sid = Status.SENT, outcome.sid
            outcome.recipient.sent_at = now
        mark_sent([o.recipient for o in accepted], now)
        AuditLogEntry.objects.bulk_create(
            [audit_row(broadcast, o.recipient, now) for o in accepted], batch_size=500
        )
        for outcome in failed:
            code, message = error_details(outcome.error)
            finish_unsent(
                outcome.recipient,
                Status.FAILED,
                from_states=(Status.SENDING,),
                error_code=code,
                error_message=message,
            )
    delays = _schedule_retries(broadcast, retry)
    apply_early_receipts([o.sid for o in accepted])
    logger.info(
        "broadcast %s batch: %s sent, %s failed, %s to retry",
        broadcast.pk,
        len(accepted),
        len(failed),
        len(retry),
    )
    return {"sent": len(accepted), "failed": len(failed), "retry": len(retry), **delays}




def _resolve_ambiguous(broadcast: Broadcast, outcomes: list[_Outcome]) -> list[_Outcome]:
    """An error after the request may have reached Twilio (a read timeout, a 5xx): ask Twilio
    whether the message exists before anyone sends it again. Found: it was sent. Not found:
    an ordinary retry. Twilio can't answer now: leave it in ``sending`` for the sweep."""
    from broadcasts.providers.twilio import ProviderError

    left = []
    for outcome in outcomes:
        if outcome.sid or not getattr(outcome.error, "ambiguous", False):
            continue
        try:
            outcome.sid = sent_sid(broadcast, outcome.recipient) or ""
        except ProviderError:
            left.append(outcome)
    return left


def sent_sid(broadcast: Broadcast, recipient: Recipient) -> str | None:
    since = (recipient.claimed_at or timezone.now()) - timedelta(minutes=1)
    found = sms_provider().messages_list(
        to=recipient.e164, from_=broadcast.from_e164, sent_after=since
    )
    candidates = {_field(m, "sid") for m in found if _field(m, "body") == recipient.text}
    # A message already recorded for someone else (the same text sent again) is not this one.
    candidates -= set(
        Recipient.objects.filter(provider_sid__in=candidates).values_list("provider_sid", flat=True)
    )
    return min(candidates) if candidates else None




def _schedule_retries(broadcast: Broadcast, retry: list[_Outcome]) -> dict[str, int]:
    if not retry:
        return {}
    attempts = max(o.recipient.attempts for o in retry)
    hinted = max((getattr(o.error, "retry_after", None) or 0 for o in retry), default=0)
    delay = min(max(2.0**attempts + random.uniform(0, 1), hinted), 300)
    ids = [o.recipient.pk for o in retry]
    for outcome in retry:
        code, message = error_details(outcome.error)
        Recipient.objects.filter(pk=outcome.recipient.pk, status=Status.SENDING).update(
            status=Status.PENDING,
            claimed_at=None,
            error_code=code,
            error_message=message,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
        )
    transaction.on_commit(lambda: enqueue_batches(broadcast.pk, ids, countdown=delay))
    return {"retry_in_seconds": int(delay)}




def sms_reconcile(recipient: Recipient) -> int:
    """A recipient stuck in ``sending``: if the provider has the message, record it as sent;
    if not, it never left, so it goes back to pending."""
    from broadcasts.providers.twilio import ProviderError

    broadcast = recipient.broadcast
    try:
        sid = sent_sid(broadcast, recipient)
    except ProviderError:
        return 0  # ask again at the next sweep
    if sid is not None:
        with transaction.atomic():
            moved = Recipient.objects.filter(pk=recipient.pk, status=Status.SENDING).update(
                status=Status.SENT, provider_sid=sid, sent_at=timezone.now()
            )
            if moved:
                recipient.refresh_from_db()
                AuditLogEntry.objects.create(**audit_fields(broadcast, recipient))
        return moved
    moved = Recipient.objects.filter(pk=recipient.pk, status=Status.SENDING).update(
        status=Status.PENDING, claimed_at=None, next_attempt_at=timezone.now()
    )
    if moved:
        transaction.on_commit(lambda: enqueue_batches(broadcast.pk, [recipient.pk]))
    return moved


def _field(message, name: str):
    return message[name] if isinstance(message, dict) else getattr(message, name)






channel_register(Broadcast.Channel.SMS, Channel(send_batch=sms_batch_send, reconcile=sms_reconcile))
