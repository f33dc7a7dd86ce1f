"""Dialing a voice broadcast's recipients: paced calls with answering-machine detection,
retries of busy and unanswered numbers, the final status of each call, keypad opt-out, and the
sweep that finds calls whose outcome never arrived.

The SMS fan-out (services.broadcast_dispatch, the batches, the sweep) hands voice recipients
here. A voice recipient stays ``sending`` while its call is under way::

    pending ──claim──▶ sending ──call placed…──▶ completed ──▶ delivered (answered; audit entry)
       ▲                  │                  └──▶ busy / no-answer ──retries left──▶ pending
       │                  │                                     └──no retries left──▶ unanswered
       │                  ├──refused by Twilio, or the call failed──▶ failed (refund)
       └──retryable error─┘──pressed 9 in another call meanwhile──▶ skipped (refund)

Each call placed is a VoiceCall, written before Twilio is asked. A recipient is charged once,
as dialed, however many calls it takes; only calls that fail outright are refunded.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from broadcasts.engine.channels import Channel, channel_register
from broadcasts.engine.lease import recipients_claim, skip_listed
from broadcasts.engine.queue import enqueue_batches
from broadcasts.engine.record import audit_fields, error_details
from broadcasts.engine.refund import broadcast_finish_if_done, finish_unsent
from broadcasts.models import (
    AuditLogEntry,
    Broadcast,
    Recipient,
    SendingNumber,
    VoiceCall,
    VoiceMessage,
    VoiceOptOut,
)
from broadcasts.providers import sms_provider
from families.models import ConsentEvent, PhoneNumber
from smsvoice.locks import try_lock
from smsvoice.models import Organization

logger = logging.getLogger(__name__)
Status = Recipient.Status

UNANSWERED = ("busy", "no-answer")
# A call's final status comes within minutes (ringing, detection, the message); one without
# an outcome for this long is looked up at Twilio.
OUTCOME_OVERDUE = timedelta(minutes=15)


def dial_url(call: VoiceCall, step: str) -> str:
    return settings.SITE_URL + reverse("broadcasts:voice_dial_step", args=[call.pk, step])


# --- placing calls ----------------------------------------------------------------------------


@dataclass
class _Placed:
    call: VoiceCall
    sid: str = ""
    error: Exception | None = None


def recipients_call(*, broadcast: Broadcast, recipient_ids: list[int]) -> dict[str, int]:
    """Call these recipients at the sending number's calls-per-second.

    Claimed a few at a time (at one call a second a whole batch would sit in ``sending``
    for minutes); the rest of the batch is marked as seen so the sweep does not take it for
    lost while it waits its turn."""
    cps = (
        SendingNumber.objects.filter(e164=broadcast.from_e164, status="active")
        .values_list("calls_per_second", flat=True)
        .first()
        or 1
    )
    counts: Counter[str] = Counter()
    chunk = max(1, min(cps * 2, 50))
    for start in range(0, len(recipient_ids), chunk):
        if not Broadcast.objects.filter(pk=broadcast.pk, status="sending").exists():
            break  # cancelled meanwhile: what is left was refunded by the cancel
        rest = recipient_ids[start + chunk :]
        Recipient.objects.filter(
            id__in=rest, status=Status.PENDING, next_attempt_at__lte=timezone.now()
        ).update(next_attempt_at=timezone.now())
        counts.update(_call_chunk(broadcast, recipient_ids[start : start + chunk], cps))
    broadcast_finish_if_done(broadcast_id=broadcast.pk)
    return dict(counts)


@lru_cache(maxsize=1)
def _executor() -> ThreadPoolExecutor:
    # Calls go out at a few a second: a few requests in flight keep up with any pacing.
    return ThreadPoolExecutor(max_workers=16, thread_name_prefix="voice-dial")


def _call_chunk(broadcast: Broadcast, ids: list[int], cps: int) -> Counter[str]:
    claimed = recipients_claim(ids)
    counts: Counter[str] = Counter(claimed=len(claimed))
    to_call = _skip_opted_out(broadcast, claimed)
    counts["skipped"] += len(claimed) - len(to_call)
    calls = VoiceCall.objects.bulk_create(
        VoiceCall(organization_id=broadcast.organization_id, broadcast=broadcast, recipient=r)
        for r in to_call
    )
    for placed in _place_all(broadcast, calls, cps):
        counts[_record(broadcast, placed)] += 1
    return counts


def _skip_opted_out(broadcast: Broadcast, claimed: list[Recipient]) -> list[Recipient]:
    """A number that pressed 9 after this broadcast was created is not called (refunded)."""
    return skip_listed(
        claimed,
        opted_out=VoiceOptOut.objects.for_org(broadcast.organization),
        reason=Recipient.Reason.VOICE_OPTED_OUT,
    )


def _place_all(broadcast: Broadcast, calls: list[VoiceCall], cps: int) -> list[_Placed]:
    from broadcasts.engine.pace import pace

    provider = sms_provider()
    outbox = settings.SMS_BACKEND == "outbox"
    limit = _time_limit(broadcast)  # read here: the threads below never touch the database

    def place(call: VoiceCall) -> _Placed:
        if not outbox:  # the outbox dials nobody: nothing to protect by pacing
            pace(sender=f"calls:{broadcast.from_e164}", per_second=cps)
        try:
            info = provider.call_create(
                to=call.recipient.e164,
                from_=broadcast.from_e164,
                url=dial_url(call, "answer"),
                status_callback=dial_url(call, "status"),
                status_callback_event=["answered", "completed"],
                # Wait for the end of a voicemail greeting, so the message lands in the mailbox.
                machine_detection="DetectMessageEnd",
                machine_detection_timeout=45,
                time_limit=limit,
            )
        except Exception as error:
            return _Placed(call, error=error)
        return _Placed(call, sid=info.sid)

    if outbox:  # the outbox writes to the (SQLite) database itself
        return [place(c) for c in calls]
    return list(_executor().map(place, calls))


def _time_limit(broadcast: Broadcast) -> int:
    seconds = VoiceMessage.objects.filter(broadcast=broadcast).values_list("seconds", flat=True)
    return (seconds.first() or 300) * 2 + 180  # the message, the opt-out prompt, a slow greeting


def _record(broadcast: Broadcast, placed: _Placed) -> str:
    """One call's placement. A callback may already have moved things on: writes here never
    overwrite what a callback wrote."""
    from broadcasts.providers.twilio import ProviderError

    call, recipient, now = placed.call, placed.call.recipient, timezone.now()
    if placed.sid:
        with transaction.atomic():
            VoiceCall.objects.filter(pk=call.pk, sid=None).update(sid=placed.sid)
            Recipient.objects.filter(pk=recipient.pk).update(
                provider_sid=placed.sid, sent_at=Coalesce(F("sent_at"), Value(now))
            )
        return "placed"
    error = placed.error
    code, message = error_details(error)
    if isinstance(error, ProviderError) and error.ambiguous:
        # It may have been placed: its callbacks (or the sweep) will tell. Never dial blindly.
        logger.warning("call to %s may or may not exist: %s", recipient.e164, error)
        return "unknown"
    VoiceCall.objects.filter(pk=call.pk, finished_at=None).update(
        status="failed", error_code=code, error_message=message, finished_at=now
    )
    permanent = isinstance(error, ProviderError) and error.permanent
    if permanent or recipient.attempts >= settings.SMS_MAX_ATTEMPTS + settings.VOICE_MAX_RETRIES:
        finish_unsent(
            recipient,
            Status.FAILED,
            from_states=(Status.SENDING,),
            error_code=code,
            error_message=message,
        )
        return "failed"
    delay = min(2.0**recipient.attempts + random.uniform(0, 1), 300)
    delay = max(delay, getattr(error, "retry_after", None) or 0)
    _retry_later(broadcast, recipient, delay, code=code, message=message)
    return "retry"


def _retry_later(
    broadcast: Broadcast, recipient: Recipient, delay: float, *, code: str, message: str
) -> bool:
    moved = Recipient.objects.filter(pk=recipient.pk, status=Status.SENDING).update(
        status=Status.PENDING,
        claimed_at=None,
        error_code=code,
        error_message=message[:300],
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    if moved:
        ids, broadcast_id = [recipient.pk], broadcast.pk
        transaction.on_commit(lambda: enqueue_batches(broadcast_id, ids, countdown=delay))
    return bool(moved)


# --- what happened to a call (Twilio's status callbacks) ---------------------------------------

_FAILED_TEXT = {"failed": "The call could not be connected.", "canceled": "The call was cancelled."}
_UNANSWERED_TEXT = {"busy": "Busy", "no-answer": "No answer"}


def voice_call_status(
    *,
    call_id: int,
    sid: str,
    status: str,
    answered_by: str = "",
    duration: int | None = None,
    error_code: str = "",
) -> str:
    """Apply one status callback of a recipient's call. Unknown calls and replays change
    nothing; the final status moves the recipient once."""
    call = (
        VoiceCall.objects.select_related("recipient__organization", "broadcast")
        .filter(pk=call_id)
        .first()
    )
    if call is None or (sid and call.sid and call.sid != sid):
        return "unknown"
    known = {"answered_by": answered_by[:20] or F("answered_by")}
    if sid:  # the callback may beat the worker's write of the sid
        known["sid"] = Coalesce(F("sid"), Value(sid))
    if status not in VoiceCall.FINAL:
        VoiceCall.objects.filter(pk=call.pk, finished_at=None).update(status=status[:12], **known)
        return "progress"
    with transaction.atomic():
        first = VoiceCall.objects.filter(pk=call.pk, finished_at=None).update(
            status=status,
            duration=duration,
            error_code=error_code[:20],
            finished_at=timezone.now(),
            **known,
        )
        if not first:
            return "ignored"
        call.refresh_from_db()
        outcome = _recipient_after(call, status)
    broadcast_finish_if_done(broadcast_id=call.broadcast_id)
    return outcome


def _recipient_after(call: VoiceCall, status: str) -> str:
    recipient = call.recipient
    if status == "completed":
        return _answered(call, recipient)
    if status in UNANSWERED:
        unanswered = VoiceCall.objects.filter(recipient=recipient, status__in=UNANSWERED).count()
        retry = unanswered <= settings.VOICE_MAX_RETRIES
        if retry and call.broadcast.status == Broadcast.Status.SENDING:
            delay = settings.VOICE_RETRY_DELAY_SECONDS
            text = f"{_UNANSWERED_TEXT[status]}; calling again ({unanswered} of "
            text += f"{settings.VOICE_MAX_RETRIES} retries)"
            _retry_later(call.broadcast, recipient, delay, code=status, message=text)
            return "retry"
        Recipient.objects.filter(pk=recipient.pk, status=Status.SENDING).update(
            status=Status.UNANSWERED,
            error_code=status,
            error_message=f"{_UNANSWERED_TEXT[status]} after {unanswered} calls",
            finished_at=timezone.now(),
        )
        return "unanswered"
    finish_unsent(
        recipient,
        Status.FAILED,
        from_states=(Status.SENDING,),
        error_code=call.error_code or status,
        error_message=_FAILED_TEXT.get(status, "The call failed."),
    )
    return "failed"


def _answered(call: VoiceCall, recipient: Recipient) -> str:
    """Answered by a person or a machine: delivered, with its one audit log entry."""
    now = timezone.now()
    moved = Recipient.objects.filter(pk=recipient.pk, status=Status.SENDING).update(
        status=Status.DELIVERED,
        provider_sid=call.sid,
        sent_at=Coalesce(F("sent_at"), Value(now)),
        finished_at=now,
        error_code="",
        error_message="",
    )
    if moved:
        recipient.refresh_from_db()
        AuditLogEntry.objects.create(**audit_fields(call.broadcast, recipient, now))
    return "answered"


# --- what the recipient hears, and pressing 9 --------------------------------------------------


def voice_call_answered(*, call: VoiceCall, answered_by: str) -> None:
    VoiceCall.objects.filter(pk=call.pk, finished_at=None).update(
        status="in-progress", answered_by=answered_by[:20]
    )


def voice_opt_out(*, organization: Organization, e164: str, broadcast: Broadcast | None) -> bool:
    """The number pressed 9: no more voice broadcasts from this organization. The evidence is a
    ConsentEvent (channel voice) for each of its numbers on file, or the bare number.
    Pressing 9 again changes nothing."""
    with transaction.atomic():
        _, created = VoiceOptOut.objects.get_or_create(
            organization=organization, e164=e164, defaults={"broadcast": broadcast}
        )
        if not created:
            return False
        where = f" during voice broadcast {broadcast.pk}" if broadcast else ""
        note = f"Pressed 9{where} to stop receiving these calls"
        numbers = list(PhoneNumber.objects.for_org(organization).filter(e164=e164)) or [None]
        for number in numbers:
            ConsentEvent.objects.create(
                organization=organization,
                phone_number=number,
                e164=e164,
                channel=ConsentEvent.Channel.VOICE,
                opted_in=False,
                source=ConsentEvent.Source.KEYWORD,
                actor_label=e164,
                note=note,
            )
    return True


# --- the sweep --------------------------------------------------------------------------------


def call_reconcile(*, recipient: Recipient) -> int:
    """A voice recipient in ``sending`` for a while (the SMS sweep hands it here). A claim
    that never wrote its call (a crash right after claiming) goes back to pending; a call
    whose outcome is overdue is looked up at Twilio; a call still under way is left alone."""
    last = recipient.voice_calls.order_by("-id").first()
    claimed_at = recipient.claimed_at or timezone.now()
    if last is None or last.created_at < claimed_at - timedelta(seconds=1):
        moved = Recipient.objects.filter(pk=recipient.pk, status=Status.SENDING).update(
            status=Status.PENDING, claimed_at=None, next_attempt_at=timezone.now()
        )
        if moved:
            ids, broadcast_id = [recipient.pk], recipient.broadcast_id
            transaction.on_commit(lambda: enqueue_batches(broadcast_id, ids))
        return moved
    if last.finished_at is None and last.created_at < timezone.now() - OUTCOME_OVERDUE:
        return call_check(last)
    return 0


def call_check(call: VoiceCall) -> int:
    """Ask Twilio how an overdue call ended and apply it. A call that Twilio never confirmed
    (its create timed out) and that sent no callback at all in that time never happened: it is
    marked failed and the recipient is dialed again."""
    from broadcasts.providers.twilio import ProviderError

    if not call.sid:
        with transaction.atomic():
            done = VoiceCall.objects.filter(pk=call.pk, finished_at=None, sid=None).update(
                status="failed",
                error_message="Twilio never confirmed this call",
                finished_at=timezone.now(),
            )
            if done:
                _retry_later(call.broadcast, call.recipient, 0, code="", message="")
        return done
    try:
        info = sms_provider().call_fetch(sid=call.sid)
    except ProviderError:
        return 0  # ask again at the next sweep
    if info.status not in VoiceCall.FINAL:
        return 0
    outcome = voice_call_status(
        call_id=call.pk,
        sid=call.sid,
        status=info.status,
        answered_by=info.answered_by or "",
        duration=info.duration,
    )
    return int(outcome != "ignored")


def voice_sweep() -> dict[str, int]:
    """Every minute, under a lock: dial outcomes that never arrived, and calls to staff whose
    end was never reported (so they are charged and their recording sent or dropped)."""
    from broadcasts.voice import recording as voice

    with try_lock("voice-sweep", timeout=120) as mine:
        if not mine:
            return {"locked": 1}
        now = timezone.now()
        counts = {"calls": 0, "staff_calls": 0}
        overdue = VoiceCall.objects.filter(finished_at=None, created_at__lt=now - OUTCOME_OVERDUE)
        for call in overdue.select_related("broadcast", "recipient__organization")[:500]:
            counts["calls"] += call_check(call)
        for call in voice.recording_calls_overdue(now=now)[:100]:
            counts["staff_calls"] += voice.recording_call_check(call=call)
        return counts


channel_register(
    Broadcast.Channel.VOICE,
    Channel(
        send_batch=lambda broadcast, ids: recipients_call(broadcast=broadcast, recipient_ids=ids),
        reconcile=lambda recipient: call_reconcile(recipient=recipient),
    ),
)
