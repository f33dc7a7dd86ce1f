"""Write paths for SMS broadcasts: preview, create, fan out, record, refund, replies.

Money moves with state: the debit is written in the transaction that creates the recipients,
and each recipient that ends without being sent (failed, undelivered, skipped) is refunded by
its own ledger entry in the transaction that moves it, so status and refund never disagree.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from broadcasts import segments
from broadcasts.keywords import Keyword, keyword_of
from broadcasts.models import (
    AuditLogEntry,
    Broadcast,
    DeliveryReceipt,
    InboundMessage,
    Recipient,
    SendingNumber,
)
from broadcasts.provider import sms_provider
from broadcasts.selectors import (
    RecipientPlan,
    excluded_rows,
    recipients_plan,
    sending_number_active,
)
from credits.selectors import credits_balance, sending_suspended, sending_suspended_reason
from credits.services import credits_debit, credits_refund
from families.models import ConsentEvent, OptOut, PhoneNumber
from families.selection import Selection
from families.services import consent_record
from smsvoice.locks import try_lock
from smsvoice.models import Organization, StaffMember

logger = logging.getLogger(__name__)
Status = Recipient.Status


class BroadcastRefused(Exception):
    """A send that cannot go out; the message says why, in words for the person sending."""


# --- preview and create ---


@dataclass
class Preview:
    messages: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    encoding: str = segments.GSM7
    parts: int = 0
    per_part: int = 160
    characters_left: int = 160
    ucs2_characters: tuple[str, ...] = ()
    credits_needed: int = 0
    credits_available: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())

    @property
    def short(self) -> bool:
        return self.credits_needed > self.credits_available

    @property
    def can_send(self) -> bool:
        return not self.problems and not self.short and self.messages > 0

    @property
    def summary(self) -> str:
        return segments.describe(segments.Parts(self.encoding, self.parts, 0, 0, 0, ()))

    def as_dict(self) -> dict:
        return {
            "messages": self.messages,
            "excluded": excluded_rows(self.excluded),
            "excluded_total": self.excluded_total,
            "encoding": self.encoding,
            "parts": self.parts,
            "per_part": self.per_part,
            "characters_left": self.characters_left,
            "ucs2_characters": list(self.ucs2_characters),
            "summary": self.summary,
            "credits_needed": self.credits_needed,
            "credits_available": self.credits_available,
            "short": self.short,
            "problems": self.problems,
            "can_send": self.can_send,
        }


@dataclass
class _Draft:
    plan: RecipientPlan
    texts: list[str]
    parts: list[int]
    preview: Preview


def _draft(*, organization: Organization, selection: Selection, text: str) -> _Draft:
    text = text.strip()
    preview = Preview(credits_available=credits_balance(organization=organization))
    problems = preview.problems
    if sending_suspended(organization=organization):
        problems.append(
            f"Sending is suspended: {sending_suspended_reason(organization=organization)}"
        )
    if sending_number_active(organization=organization) is None:
        problems.append(
            "There is no sending number yet: an admin sets one up in Settings > SMS & Voice."
        )
    unknown = segments.merge_fields_unknown(text)
    if unknown:
        known = ", ".join("{" + name + "}" for name in segments.MERGE_FIELDS)
        problems.append(f"Unknown merge field {{{unknown[0]}}}: use {known}.")
    plan = recipients_plan(organization=organization, selection=selection, with_merge=True)
    texts = [segments.merge(text, r.merge_values) for r in plan.recipients]
    counted = [segments.count_parts(t) for t in texts]
    worst = max(counted, key=lambda p: (p.parts, p.units), default=segments.count_parts(text))
    preview.messages = len(plan.recipients)
    preview.excluded = plan.excluded_by_reason
    preview.encoding, preview.parts = worst.encoding, worst.parts
    preview.per_part, preview.characters_left = worst.per_part, worst.remaining
    preview.ucs2_characters = segments.ucs2_characters(text) or worst.ucs2_characters
    preview.credits_needed = sum(p.parts for p in counted)
    if not text:
        problems.append("Type a message first.")
    elif worst.too_long:
        limit = 153 * segments.MAX_PARTS if worst.encoding == segments.GSM7 else 67 * 10
        problems.append(
            f"This message needs {worst.parts} parts; the most is {segments.MAX_PARTS} "
            f"(about {limit:,} characters in {worst.encoding}). Shorten it."
        )
    if not plan.recipients:
        problems.append(nobody_message(preview.excluded))
    return _Draft(plan=plan, texts=texts, parts=[p.parts for p in counted], preview=preview)


def nobody_message(excluded: dict[str, int], *, can: str = "receive texts") -> str:
    if not excluded:
        return "Nobody is selected."
    labels = dict(Recipient.Reason.choices)
    why = ", ".join(f"{n} {labels[r].lower()}" for r, n in sorted(excluded.items()))
    return f"None of the selected numbers can {can} ({why})."


def broadcast_preview(*, organization: Organization, selection: Selection, text: str) -> Preview:
    return _draft(organization=organization, selection=selection, text=text).preview


def broadcast_create(
    *, organization: Organization, sender: StaffMember, selection: Selection, text: str
) -> Broadcast:
    """Create the broadcast, its recipients and the debit in one transaction, then fan out.

    Refused (BroadcastRefused, nothing written, nothing charged) when anything in the
    preview's problems applies or the credits are short.
    """
    draft = _draft(organization=organization, selection=selection, text=text)
    preview = draft.preview
    if preview.problems:
        raise BroadcastRefused(preview.problems[0])
    if preview.short:
        raise BroadcastRefused(_short_message(preview.credits_needed, preview.credits_available))
    number = sending_number_active(organization=organization)
    from credits.services import InsufficientCredits

    try:
        with transaction.atomic():
            broadcast = Broadcast.objects.create(
                organization=organization,
                channel=Broadcast.Channel.SMS,
                selection_kind=selection.kind,
                selection=selection.to_dict(),
                text=text.strip(),
                encoding=preview.encoding,
                max_parts=preview.parts,
                sender=sender,
                sender_label=sender.full_name,
                from_e164=number.e164,
                recipient_count=preview.messages,
                excluded_count=preview.excluded_total,
                credits_debited=preview.credits_needed,
            )
            Recipient.objects.bulk_create(_recipient_rows(broadcast, draft), batch_size=2000)
            credits_debit(
                organization=organization,
                credits=preview.credits_needed,
                reference=broadcast.debit_reference,
                actor=sender.user,
                memo=f"SMS broadcast {broadcast.pk} to {preview.messages:,} numbers",
            )
            transaction.on_commit(lambda: _enqueue_dispatch(broadcast.pk))
    except InsufficientCredits as short:
        raise BroadcastRefused(_short_message(short.needed, short.available)) from None
    return broadcast


def _short_message(needed: int, available: int) -> str:
    return (
        f"This needs {needed:,} credits but only {available:,} are available. "
        "Buy credits or send to fewer people."
    )


def _recipient_rows(broadcast: Broadcast, draft: _Draft) -> Iterable[Recipient]:
    for planned, text, parts in zip(draft.plan.recipients, draft.texts, draft.parts, strict=True):
        yield recipient_row(broadcast, planned, text=text, parts=parts, credits=parts)
    for planned in draft.plan.excluded:
        yield recipient_row(broadcast, planned, status=Status.EXCLUDED, reason=planned.reason)


def recipient_row(broadcast: Broadcast, planned, **fields) -> Recipient:
    """An unsaved Recipient for a planned number (to bulk-create), with extra ``fields``."""
    return Recipient(
        broadcast=broadcast,
        organization_id=broadcast.organization_id,
        e164=planned.e164,
        family_id=planned.family_id,
        student_id=planned.student_id,
        staff_member_id=planned.staff_member_id,
        owner_label=planned.owner_label[:200],
        **fields,
    )


def _enqueue_dispatch(broadcast_id: int) -> None:
    from broadcasts.tasks import broadcast_dispatch

    broadcast_dispatch.delay(broadcast_id)


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
    _enqueue_batches(broadcast_id, ids)
    if not ids:
        broadcast_finish_if_done(broadcast_id=broadcast_id)
    return {"dispatched": len(ids)}


def _enqueue_batches(broadcast_id: int, ids: list[int], countdown: float = 0) -> None:
    from broadcasts.tasks import recipients_send

    size = settings.SMS_BATCH_SIZE
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        if countdown:
            recipients_send.apply_async((broadcast_id, chunk), countdown=countdown)
        else:
            recipients_send.delay(broadcast_id, chunk)


@dataclass
class _Outcome:
    recipient: Recipient
    sid: str = ""
    error: Exception | None = None


def recipients_send(*, broadcast_id: int, recipient_ids: list[int]) -> dict[str, int]:
    """Claim these recipients, send them with many requests in flight, record the results."""
    broadcast = Broadcast.objects.select_related("organization").get(pk=broadcast_id)
    if broadcast.status != Broadcast.Status.SENDING:
        return {"claimed": 0}
    if broadcast.channel == Broadcast.Channel.VOICE:  # calls: paced, retried, own outcomes
        from broadcasts.voice_dial import recipients_call

        return recipients_call(broadcast=broadcast, recipient_ids=recipient_ids)
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
    broadcast_finish_if_done(broadcast_id=broadcast_id)
    return counts


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


def _skip_unsubscribed(broadcast: Broadcast, claimed: list[Recipient]) -> list[Recipient]:
    """A number that texted STOP after the broadcast was created is skipped and refunded."""
    return skip_listed(
        claimed,
        opted_out=OptOut.objects.for_org(broadcast.organization),
        reason=Recipient.Reason.UNSUBSCRIBED,
    )


def skip_listed(claimed: list[Recipient], *, opted_out, reason: str) -> list[Recipient]:
    """Skip and refund the claimed recipients whose number is in ``opted_out`` (a queryset of
    rows with an ``e164``) now; return the others, still to be sent."""
    stopped = set(
        opted_out.filter(e164__in=[r.e164 for r in claimed]).values_list("e164", flat=True)
    )
    for recipient in claimed:
        if recipient.e164 in stopped:
            _finish_unsent(recipient, Status.SKIPPED, reason=reason, from_states=(Status.SENDING,))
    return [r for r in claimed if r.e164 not in stopped]


def _send_all(broadcast: Broadcast, recipients: list[Recipient], mps: int) -> list[_Outcome]:
    callback = settings.SITE_URL + reverse("broadcasts:twilio_status")
    if settings.SMS_BACKEND == "outbox":  # the outbox writes to the (SQLite) database itself
        return [_send_one_outbox(broadcast, r, mps, callback) for r in recipients]
    from broadcasts import twilio_gateway
    from broadcasts.fanout import send_concurrently

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
    from broadcasts.pacing import pace

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
    from broadcasts.twilio_gateway import ProviderError

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
        _mark_sent([o.recipient for o in accepted], now)
        AuditLogEntry.objects.bulk_create(
            [_audit_row(broadcast, o.recipient, now) for o in accepted], batch_size=500
        )
        for outcome in failed:
            code, message = _error_details(outcome.error)
            _finish_unsent(
                outcome.recipient,
                Status.FAILED,
                from_states=(Status.SENDING,),
                error_code=code,
                error_message=message,
            )
    delays = _schedule_retries(broadcast, retry)
    _apply_early_receipts([o.sid for o in accepted])
    logger.info(
        "broadcast %s batch: %s sent, %s failed, %s to retry",
        broadcast.pk,
        len(accepted),
        len(failed),
        len(retry),
    )
    return {"sent": len(accepted), "failed": len(failed), "retry": len(retry), **delays}


def _mark_sent(recipients: list[Recipient], now) -> None:
    """One UPDATE ... FROM (VALUES ...) for a whole batch on PostgreSQL: Django's bulk_update
    builds a CASE per row, several times slower at a thousand rows."""
    if not recipients:
        return
    if connection.vendor != "postgresql":
        Recipient.objects.bulk_update(recipients, ["status", "provider_sid", "sent_at"])
        return
    table = Recipient._meta.db_table
    for start in range(0, len(recipients), 1000):
        chunk = recipients[start : start + 1000]
        values = ", ".join(["(%s, %s)"] * len(chunk))
        params = [value for r in chunk for value in (r.pk, r.provider_sid)]
        sql = (
            f"UPDATE {table} AS r SET status = %s, sent_at = %s, provider_sid = v.sid "  # noqa: S608
            f"FROM (VALUES {values}) AS v(id, sid) WHERE r.id = v.id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [Status.SENT, now, *params])


def _resolve_ambiguous(broadcast: Broadcast, outcomes: list[_Outcome]) -> list[_Outcome]:
    """An error after the request may have reached Twilio (a read timeout, a 5xx): ask Twilio
    whether the message exists before anyone sends it again. Found: it was sent. Not found:
    an ordinary retry. Twilio can't answer now: leave it in ``sending`` for the sweep."""
    from broadcasts.twilio_gateway import ProviderError

    left = []
    for outcome in outcomes:
        if outcome.sid or not getattr(outcome.error, "ambiguous", False):
            continue
        try:
            outcome.sid = _sent_sid(broadcast, outcome.recipient) or ""
        except ProviderError:
            left.append(outcome)
    return left


def _sent_sid(broadcast: Broadcast, recipient: Recipient) -> str | None:
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


def _error_details(error: Exception | None) -> tuple[str, str]:
    code = getattr(error, "code", None) or getattr(error, "status", None) or ""
    message = getattr(error, "message", None) or str(error) or error.__class__.__name__
    return str(code), message[:300]


def _audit_row(broadcast: Broadcast, recipient: Recipient, now) -> AuditLogEntry:
    return AuditLogEntry(
        organization_id=broadcast.organization_id,
        broadcast=broadcast,
        recipient=recipient,
        channel=broadcast.channel,
        sender_id=broadcast.sender_id,
        sender_label=broadcast.sender_label,
        e164=recipient.e164,
        family_id=recipient.family_id,
        student_id=recipient.student_id,
        staff_member_id=recipient.staff_member_id,
        owner_label=recipient.owner_label,
        text=recipient.text,
        parts=recipient.parts,
        credits=recipient.credits,
        provider_sid=recipient.provider_sid,
        sent_at=now,
    )


def _schedule_retries(broadcast: Broadcast, retry: list[_Outcome]) -> dict[str, int]:
    if not retry:
        return {}
    attempts = max(o.recipient.attempts for o in retry)
    hinted = max((getattr(o.error, "retry_after", None) or 0 for o in retry), default=0)
    delay = min(max(2.0**attempts + random.uniform(0, 1), hinted), 300)
    ids = [o.recipient.pk for o in retry]
    for outcome in retry:
        code, message = _error_details(outcome.error)
        Recipient.objects.filter(pk=outcome.recipient.pk, status=Status.SENDING).update(
            status=Status.PENDING,
            claimed_at=None,
            error_code=code,
            error_message=message,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
        )
    transaction.on_commit(lambda: _enqueue_batches(broadcast.pk, ids, countdown=delay))
    return {"retry_in_seconds": int(delay)}


def _finish_unsent(
    recipient: Recipient,
    status: str,
    *,
    from_states: tuple[str, ...],
    reason: str = "",
    error_code: str = "",
    error_message: str = "",
) -> bool:
    """Move a recipient to failed / undelivered / skipped and refund it, atomically and once."""
    with transaction.atomic():
        moved = Recipient.objects.filter(pk=recipient.pk, status__in=from_states).update(
            status=status,
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
        cancelled += _finish_unsent(
            recipient,
            Status.SKIPPED,
            from_states=(Status.PENDING,),
            reason=Recipient.Reason.CANCELLED,
        )
    return cancelled


# --- delivery status callbacks ---

_FINAL_BAD = {"undelivered": Status.UNDELIVERED, "failed": Status.FAILED}


def delivery_status_record(*, sid: str, status: str, error_code: str = "") -> str:
    """Keep the provider's callback, then apply it. Unknown ids are kept and applied later."""
    DeliveryReceipt.objects.create(provider_sid=sid, status=status, error_code=error_code)
    return delivery_status_apply(sid=sid, status=status, error_code=error_code)


def delivery_status_apply(*, sid: str, status: str, error_code: str = "") -> str:
    if status == "delivered":
        moved = Recipient.objects.filter(provider_sid=sid, status=Status.SENT).update(
            status=Status.DELIVERED, finished_at=timezone.now()
        )
        return "delivered" if moved else "ignored"
    if status in _FINAL_BAD:
        recipient = (
            Recipient.objects.select_related("organization").filter(provider_sid=sid).first()
        )
        if recipient is None:
            return "unknown"
        moved = _finish_unsent(
            recipient,
            _FINAL_BAD[status],
            from_states=(Status.SENT, Status.SENDING),
            error_code=error_code,
            error_message=_carrier_error(error_code),
        )
        return status if moved else "ignored"
    return "ignored"  # queued / sending / sent: nothing new


def _carrier_error(code: str) -> str:
    known = {
        "30003": "Unreachable handset",
        "30004": "Message blocked",
        "30005": "Unknown handset",
        "30006": "Landline or unreachable carrier",
        "30007": "Filtered by the carrier",
        "30008": "Unknown error",
    }
    return known.get(code, f"Carrier error {code}" if code else "Not delivered")


def _apply_early_receipts(sids: list[str]) -> None:
    if not sids:
        return
    for receipt in DeliveryReceipt.objects.filter(provider_sid__in=sids).order_by("id"):
        delivery_status_apply(
            sid=receipt.provider_sid, status=receipt.status, error_code=receipt.error_code
        )


# --- inbound texts: STOP / START / HELP ---


def inbound_sms_handle(*, to_e164: str, from_e164: str, body: str, sid: str = "") -> str | None:
    """Record an inbound text and answer keywords. Returns the reply text, or None."""
    number = (
        SendingNumber.objects.select_related("organization")
        .filter(e164=to_e164, status="active")
        .first()
    )
    keyword = keyword_of(body)
    organization = number.organization if number else None
    InboundMessage.objects.create(
        organization=organization,
        from_e164=from_e164,
        to_e164=to_e164,
        body=body[:2000],
        keyword=keyword.value if keyword else "",
        provider_sid=sid,
    )
    if organization is None or keyword is None:
        return None
    if keyword is Keyword.STOP:
        keyword_opt_out(organization=organization, e164=from_e164, word=body.strip())
        return (
            f"You are unsubscribed from {organization.name} texts and will get no more. "
            "Reply START to subscribe again."
        )
    if keyword is Keyword.START:
        keyword_opt_in(organization=organization, e164=from_e164, word=body.strip())
        return (
            f"You are subscribed to {organization.name} texts again. "
            "Reply STOP to unsubscribe, HELP for help."
        )
    contact = " or ".join(c for c in (organization.contact_phone, organization.contact_email) if c)
    return (
        f"{organization.name}: texts about classes and closures. "
        f"{'Contact ' + contact + '. ' if contact else ''}Reply STOP to unsubscribe."
    )


@transaction.atomic
def keyword_opt_out(*, organization: Organization, e164: str, word: str) -> None:
    OptOut.objects.get_or_create(organization=organization, e164=e164)
    _keyword_consent(organization=organization, e164=e164, opted_in=False, word=word)


@transaction.atomic
def keyword_opt_in(*, organization: Organization, e164: str, word: str) -> None:
    OptOut.objects.for_org(organization).filter(e164=e164).delete()
    _keyword_consent(organization=organization, e164=e164, opted_in=True, word=word)


def _keyword_consent(*, organization: Organization, e164: str, opted_in: bool, word: str) -> None:
    """Every number of the organization with these digits follows the reply; if none is on
    file, the reply is still kept as evidence against the bare number."""
    note = f"Replied {word!r} to the sending number"
    numbers = PhoneNumber.objects.for_org(organization).filter(e164=e164)
    if opted_in:
        numbers = numbers.filter(text_capable=True)
    recorded = False
    for number in numbers.filter(~Q(sms_opt_in=opted_in)):
        consent_record(
            phone_number=number,
            opted_in=opted_in,
            source=ConsentEvent.Source.KEYWORD,
            actor_label=e164,
            note=note,
        )
        recorded = True
    if not recorded:
        ConsentEvent.objects.create(
            organization=organization,
            e164=e164,
            channel=ConsentEvent.Channel.SMS,
            opted_in=opted_in,
            source=ConsentEvent.Source.KEYWORD,
            actor_label=e164,
            note=note,
        )


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
            _enqueue_dispatch(pk)
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
            _enqueue_batches(broadcast_id, ids)
            counts["requeued"] += len(ids)
        for recipient in Recipient.objects.filter(
            status=Status.SENDING, claimed_at__lt=now - STUCK_AFTER
        ).select_related("broadcast", "organization")[:1000]:
            counts["reconciled"] += recipient_reconcile(recipient=recipient)
        for pk in Broadcast.objects.filter(status=Broadcast.Status.SENDING).values_list(
            "pk", flat=True
        ):
            counts["finished"] += broadcast_finish_if_done(broadcast_id=pk)
        return counts


def recipient_reconcile(*, recipient: Recipient) -> int:
    """A recipient stuck in ``sending``: if the provider has the message, record it as sent;
    if not, it never left, so it goes back to pending."""
    from broadcasts.twilio_gateway import ProviderError

    broadcast = recipient.broadcast
    if broadcast.channel == Broadcast.Channel.VOICE:  # a call under way is not a lost text
        from broadcasts.voice_dial import call_reconcile

        return call_reconcile(recipient=recipient)
    try:
        sid = _sent_sid(broadcast, recipient)
    except ProviderError:
        return 0  # ask again at the next sweep
    if sid is not None:
        with transaction.atomic():
            moved = Recipient.objects.filter(pk=recipient.pk, status=Status.SENDING).update(
                status=Status.SENT, provider_sid=sid, sent_at=timezone.now()
            )
            if moved:
                recipient.refresh_from_db()
                AuditLogEntry.objects.create(**_audit_fields(broadcast, recipient))
        return moved
    moved = Recipient.objects.filter(pk=recipient.pk, status=Status.SENDING).update(
        status=Status.PENDING, claimed_at=None, next_attempt_at=timezone.now()
    )
    if moved:
        transaction.on_commit(lambda: _enqueue_batches(broadcast.pk, [recipient.pk]))
    return moved


def _field(message, name: str):
    return message[name] if isinstance(message, dict) else getattr(message, name)


def _audit_fields(broadcast: Broadcast, recipient: Recipient) -> dict:
    row = _audit_row(broadcast, recipient, recipient.sent_at or timezone.now())
    return {
        f.attname: getattr(row, f.attname)
        for f in AuditLogEntry._meta.concrete_fields
        if f.attname != "id"
    }


# --- the sending number ---


def _webhook_urls() -> dict[str, str]:
    return {
        "sms_url": settings.SITE_URL + reverse("broadcasts:twilio_sms"),
        "voice_url": settings.SITE_URL + reverse("broadcasts:twilio_voice"),
        "status_callback": settings.SITE_URL + reverse("broadcasts:twilio_status"),
    }


def sending_numbers_search(*, organization: Organization, area_code: str) -> list:
    area_code = area_code.strip()
    if area_code and (not area_code.isdigit() or len(area_code) != 3):
        raise BroadcastRefused("An area code is three digits, like 415.")
    from broadcasts.twilio_gateway import ProviderError

    try:
        return sms_provider().numbers_search(
            country=organization.country, area_code=area_code or None
        )
    except ProviderError as error:
        raise BroadcastRefused(f"Twilio could not search numbers: {error.message}") from None


def sending_number_buy(*, organization: Organization, phone_number: str) -> SendingNumber:
    """Buy a number with its webhooks pointed at us; it replaces the current one, if any,
    which is released only once the new one is ours (no moment without a number)."""
    from broadcasts.twilio_gateway import ProviderError
    from credits.selectors import credit_account
    from families.phones import phone_parse

    account = credit_account(organization=organization)
    if account is None or not account.has_card:
        raise BroadcastRefused("Put a payment card on file first (Settings > SMS & Voice).")
    try:
        e164 = phone_parse(phone_number, country=organization.country)
    except Exception:
        raise BroadcastRefused(
            f"{phone_number} is not a number this organization can use."
        ) from None
    provider = sms_provider()
    try:
        bought = provider.number_buy(phone_number=e164, **_webhook_urls())
    except ProviderError as error:
        raise BroadcastRefused(f"Twilio could not sell that number: {error.message}") from None
    old = sending_number_active(organization=organization)
    with transaction.atomic():
        if old is not None:
            SendingNumber.objects.filter(pk=old.pk).update(
                status=SendingNumber.Status.RELEASED, released_at=timezone.now()
            )
        number = SendingNumber.objects.create(
            organization=organization, e164=bought.phone_number, provider_sid=bought.sid
        )
    if old is not None:
        _release_at_provider(old)
    return number


def sending_number_release(*, organization: Organization) -> SendingNumber | None:
    number = sending_number_active(organization=organization)
    if number is None:
        return None
    SendingNumber.objects.filter(pk=number.pk).update(
        status=SendingNumber.Status.RELEASED, released_at=timezone.now()
    )
    _release_at_provider(number)
    return number


def _release_at_provider(number: SendingNumber) -> None:
    from broadcasts.twilio_gateway import ProviderError

    try:
        sms_provider().number_release(sid=number.provider_sid)
    except ProviderError:
        # We stop using it either way; the number is left for an operator to release by hand.
        logger.exception("could not release %s (%s) at Twilio", number.e164, number.provider_sid)
