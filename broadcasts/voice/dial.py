"""The voice channel of the engine: dialing a voice broadcast's recipients, with
answering-machine detection, retries of busy and unanswered numbers, the final status of each
call, keypad opt-out, and reconciling calls whose worker or outcome was lost.

The engine claims recipients under a lease and paces them at the number's calls per second
(sender ``voice:+1…``). A voice recipient stays ``sending`` while its call is under way::

    pending ──claim──▶ sending ──call placed…──▶ completed ──▶ delivered (answered; audit entry)
       ▲                  │                  └──▶ busy / no-answer ──retries left──▶ pending
       │                  │                                     └──no retries left──▶ unanswered
       │                  ├──refused by Twilio, or the call failed──▶ failed (refund)
       └──retryable error─┘──pressed 9 in another call meanwhile──▶ skipped (refund)

Each call is a VoiceCall written before Twilio is asked (its id is in the TwiML and status
URLs), and its sid is written as soon as Twilio answers. A placed call keeps its recipient's
lease until its outcome is overdue (OUTCOME_OVERDUE): then, or when a worker died before
writing the sid, the sweep hands it back here, and the call is found in Twilio's list of the
number's calls (by To and start time) before anyone dials that number again. A busy or
unanswered number is dialed again as scheduled work (pending, due later), never by a sleep.
A recipient is charged once, as dialed, however many calls it takes; only calls that fail
outright are refunded.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from broadcasts.engine.channels import channel_register
from broadcasts.engine.lease import Lease, held, skip_listed
from broadcasts.engine.queue import sender_of, sender_wake
from broadcasts.engine.record import (
    Outcome,
    Recorded,
    ambiguous_resolve,
    audit_fields,
    error_details,
    outcomes_settle,
)
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
OUTCOME_RECHECK = timedelta(minutes=5)


def dial_url(call: VoiceCall, step: str) -> str:
    return settings.SITE_URL + reverse("broadcasts:voice_dial_step", args=[call.pk, step])


# --- placing calls ----------------------------------------------------------------------------


class VoiceChannel:
    def rate(self, e164: str) -> float:
        cps = (
            SendingNumber.objects.filter(e164=e164, status=SendingNumber.Status.ACTIVE)
            .values_list("calls_per_second", flat=True)
            .first()
        )
        return float(cps or 1)

    def prepare(self, broadcast: Broadcast, claimed: list[Recipient]) -> list[Recipient]:
        """Skip numbers that pressed 9 meanwhile; write each call's intent before dialing."""
        to_call = skip_listed(
            claimed,
            opted_out=VoiceOptOut.objects.for_org(broadcast.organization),
            reason=Recipient.Reason.VOICE_OPTED_OUT,
        )
        calls = VoiceCall.objects.bulk_create(
            VoiceCall(organization_id=broadcast.organization_id, broadcast=broadcast, recipient=r)
            for r in to_call
        )
        limit = _time_limit(broadcast)  # read here: the sending loop never touches the database
        for recipient, call in zip(to_call, calls, strict=True):
            recipient.voice_call, recipient.voice_time_limit = call, limit
        return to_call

    def sends_inline(self) -> bool:
        return settings.SMS_BACKEND == "outbox"  # the outbox writes to the database itself

    def sender(self):
        def arguments(broadcast: Broadcast, recipient: Recipient) -> dict:
            call = recipient.voice_call
            return {
                "to": recipient.e164,
                "from_": broadcast.from_e164,
                "url": dial_url(call, "answer"),
                "status_callback": dial_url(call, "status"),
                "status_callback_event": ["answered", "completed"],
                # Wait for the end of a voicemail greeting, so the message lands in the mailbox.
                "machine_detection": "DetectMessageEnd",
                "machine_detection_timeout": 45,
                "time_limit": recipient.voice_time_limit,
            }

        if self.sends_inline():
            provider = sms_provider()
            return lambda broadcast, recipient: (
                provider.call_create(**arguments(broadcast, recipient)).sid
            )
        from broadcasts.providers import twilio

        async def send(broadcast: Broadcast, recipient: Recipient, on_wire=None) -> str:
            reporting = twilio.on_wire.set(on_wire)
            try:
                return (await twilio.call_create_async(**arguments(broadcast, recipient))).sid
            finally:
                twilio.on_wire.reset(reporting)

        return send

    def record(self, outcomes: list[Outcome], lease: Lease) -> Recorded:
        from broadcasts.providers.twilio import ProviderError

        # A create that timed out or got a 5xx may have placed the call: it is looked for at
        # Twilio (by number and start time) before anyone dials that number again.
        unresolved = ambiguous_resolve(
            outcomes,
            lookup=lambda o: placed_call_sid(o.recipient, o.broadcast),
            unanswered=ProviderError,
        )
        settled = [o for o in outcomes if o not in unresolved]
        now = timezone.now()
        for outcome in settled:
            if not outcome.sid:
                code, message = error_details(outcome.error) if outcome.error else ("", "")
                call = outcome.recipient.voice_call
                VoiceCall.objects.filter(pk=call.pk, finished_at=None).update(
                    status="failed" if outcome.error else "canceled",
                    error_code=code[:20],
                    error_message=message or "Not placed: the worker's lease ended first",
                    finished_at=now,
                )

        def placed(accepted: list[Outcome]) -> int:
            return sum(_placed(o, lease) for o in accepted)

        recorded = outcomes_settle(settled, lease=lease, sent=placed)
        # Twilio could not say whether these calls exist: their leases expire and the sweep
        # finds them in Twilio's list of calls before anyone dials them again.
        recorded.counts["unknown"] += len(unresolved)
        return recorded

    def reconcile(self, recipients: list[Recipient]) -> Counter:
        return calls_reconcile(recipients)


def _placed(outcome: Outcome, lease: Lease) -> int:
    """A call Twilio accepted: its sid now, and the lease kept until its outcome is overdue
    (callbacks move the recipient on; they may already have)."""
    recipient, call = outcome.recipient, outcome.recipient.voice_call
    now = timezone.now()
    with transaction.atomic():
        VoiceCall.objects.filter(pk=call.pk, sid=None).update(sid=outcome.sid)
        Recipient.objects.filter(pk=recipient.pk).update(
            provider_sid=outcome.sid, sent_at=Coalesce(F("sent_at"), Value(now))
        )
        held(lease, [recipient.pk]).update(lease_expires_at=now + OUTCOME_OVERDUE)
    return 1


def _time_limit(broadcast: Broadcast) -> int:
    seconds = VoiceMessage.objects.filter(broadcast=broadcast).values_list("seconds", flat=True)
    return (seconds.first() or 300) * 2 + 180  # the message, the opt-out prompt, a slow greeting


def placed_call_sid(recipient: Recipient, broadcast: Broadcast) -> str | None:
    since = (recipient.claimed_at or timezone.now()) - timedelta(minutes=1)
    found = sms_provider().calls_recent(from_=broadcast.from_e164, started_after=since)
    return _unclaimed_sid([c for c in found if c.to == recipient.e164])


def _unclaimed_sid(calls) -> str | None:
    sids = {c.sid for c in calls}
    sids -= set(VoiceCall.objects.filter(sid__in=sids).values_list("sid", flat=True))
    return min(sids) if sids else None


def _retry_later(
    broadcast: Broadcast, recipient: Recipient, delay: float, *, code: str, message: str
) -> bool:
    """Dial this number again in ``delay`` seconds: scheduled work of the engine."""
    moved = Recipient.objects.filter(pk=recipient.pk, status=Status.SENDING).update(
        status=Status.PENDING,
        claimed_at=None,
        lease_token=None,
        lease_expires_at=None,
        error_code=code,
        error_message=message[:300],
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    if moved:
        sender, lane = sender_of(broadcast), broadcast.lane
        transaction.on_commit(lambda: sender_wake(sender=sender, delay=delay, lane=lane))
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
            retries = ngettext("retry", "retries", settings.VOICE_MAX_RETRIES)
            text = f"{_UNANSWERED_TEXT[status]}; calling again ({unanswered} of "
            text += f"{settings.VOICE_MAX_RETRIES} {retries})"
            _retry_later(call.broadcast, recipient, delay, code=status, message=text)
            return "retry"
        Recipient.objects.filter(pk=recipient.pk, status=Status.SENDING).update(
            status=Status.UNANSWERED,
            error_code=status,
            error_message=f"{_UNANSWERED_TEXT[status]} after {unanswered} "
            + ngettext("call", "calls", unanswered),
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


def voice_opt_out(
    *, organization: Organization, e164: str, broadcast: Broadcast | None, words: str = ""
) -> bool:
    """The number pressed 9, or said ``words`` that revoke: no more voice broadcasts from this
    organization. The evidence is a ConsentEvent (channel voice) for each of its numbers on
    file, or the bare number, with the words heard. Asking again changes nothing."""
    with transaction.atomic():
        _, created = VoiceOptOut.objects.get_or_create(
            organization=organization, e164=e164, defaults={"broadcast": broadcast}
        )
        if not created:
            return False
        where = f" during voice broadcast {broadcast.pk}" if broadcast else ""
        how = f'Said "{words}"' if words else "Pressed 9"
        note = f"{how}{where} to stop receiving these calls"
        numbers = list(PhoneNumber.objects.for_org(organization).filter(e164=e164)) or [None]
        for number in numbers:
            ConsentEvent.objects.create(
                organization=organization,
                phone_number=number,
                e164=e164,
                channel=ConsentEvent.Channel.VOICE,
                opted_in=False,
                source=ConsentEvent.Source.REPLY if words else ConsentEvent.Source.KEYWORD,
                actor_label=e164,
                note=note,
                words=words,
            )
    return True


# --- the sweep --------------------------------------------------------------------------------


def calls_reconcile(recipients: list[Recipient]) -> Counter:
    """Voice recipients of one number whose lease expired. A placed call (sid known) whose
    outcome is overdue is asked at Twilio; a call whose sid never came back (a crash, an
    ambiguous error) is looked for in Twilio's list of the number's calls: found, it is that
    call; not found, it never happened and the number is dialed again; a claim that never
    wrote its call goes back to pending."""
    from broadcasts.providers.twilio import ProviderError

    counts: Counter = Counter()
    unsure = {}
    for recipient in recipients:
        last = recipient.voice_calls.order_by("-id").first()
        claimed_at = recipient.claimed_at or timezone.now()
        if last is None or last.created_at < claimed_at - timedelta(seconds=1):
            moved = _retry_later(recipient.broadcast, recipient, 0, code="", message="")
            counts["requeued"] += moved
        elif last.sid:
            settled = call_check(last)
            counts["checked"] += settled
            if not settled:  # still under way (or Twilio did not answer): look again later
                Recipient.objects.filter(pk=recipient.pk, status=Status.SENDING).update(
                    lease_expires_at=timezone.now() + OUTCOME_RECHECK
                )
        elif last.finished_at is None:
            unsure[recipient.pk] = (recipient, last)
    if not unsure:
        return counts
    broadcast = recipients[0].broadcast
    since = min(r.claimed_at or timezone.now() for r, _ in unsure.values()) - timedelta(minutes=1)
    try:
        found = sms_provider().calls_recent(from_=broadcast.from_e164, started_after=since)
    except ProviderError:
        counts["unreachable"] += len(unsure)
        return counts
    by_number = defaultdict(list)
    for info in found:
        by_number[info.to].append(info)
    for recipient, call in unsure.values():
        sid = _unclaimed_sid(by_number.get(recipient.e164, []))
        if sid:
            VoiceCall.objects.filter(pk=call.pk, sid=None).update(sid=sid)
            Recipient.objects.filter(pk=recipient.pk, status=Status.SENDING).update(
                provider_sid=sid, lease_expires_at=timezone.now() + OUTCOME_OVERDUE
            )
            counts["found"] += 1
            continue
        with transaction.atomic():
            done = VoiceCall.objects.filter(pk=call.pk, finished_at=None, sid=None).update(
                status="failed",
                error_message="Never placed: Twilio has no such call",
                finished_at=timezone.now(),
            )
            if done:
                _retry_later(recipient.broadcast, recipient, 0, code="", message="")
        counts["requeued"] += done
    return counts


def call_check(call: VoiceCall) -> int:
    """Ask Twilio how an overdue call ended and apply it. A call that Twilio never confirmed
    (its create timed out) and that sent no callback at all in that time never happened: it is
    marked failed and the recipient is dialed again."""
    from broadcasts.providers.twilio import ProviderError

    if not call.sid:  # the lease of its recipient expires first: calls_reconcile looks it up
        return 0
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

    # Short and renewed while it runs (as the engine's sweep): a worker killed mid-run frees
    # it within 15 s.
    with try_lock("voice-sweep", timeout=15, keep_alive=True) as held:
        if not held:
            return {"locked": 1}
        now = timezone.now()
        counts = {"calls": 0, "staff_calls": 0}
        overdue = VoiceCall.objects.filter(finished_at=None, created_at__lt=now - OUTCOME_OVERDUE)
        for call in overdue.select_related("broadcast", "recipient__organization")[:500]:
            if held.lost:
                return counts
            counts["calls"] += call_check(call)
        for call in voice.recording_calls_overdue(now=now)[:100]:
            if held.lost:
                return counts
            counts["staff_calls"] += voice.recording_call_check(call=call)
        return counts


channel_register(Broadcast.Channel.VOICE, VoiceChannel())
