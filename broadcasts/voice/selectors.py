"""Read paths for voice broadcasts: what the dialog says about a call to staff, a voice
broadcast's progress and money, and its recipients with their calls."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Sum

from broadcasts.models import Broadcast, Recipient, VoiceCall, VoiceRecordingCall
from broadcasts.voice.recording import minutes_seconds
from families.phones import phone_display
from smsvoice.models import Organization

CallStatus = VoiceRecordingCall.Status
Status = Recipient.Status


def recording_call_for(*, organization: Organization, pk: int) -> VoiceRecordingCall | None:
    return (
        VoiceRecordingCall.objects.for_org(organization)
        .select_related("broadcast__voice")
        .filter(pk=pk)
        .first()
    )


def latest_recording_call(*, broadcast: Broadcast) -> VoiceRecordingCall | None:
    return broadcast.recording_calls.order_by("-created_at", "-id").first()


@dataclass
class CallProgress:
    call: VoiceRecordingCall
    label: str
    hint: str = ""
    live: bool = True  # keep asking for news
    can_cancel: bool = False
    can_send_now: bool = False

    @property
    def status(self) -> str:
        return self.call.status


def recording_call_progress(*, call: VoiceRecordingCall) -> CallProgress:
    """The call's progress in words: calling, waiting for hello, recording, recorded 0:42,
    sending, cancelled; then what became of the broadcast."""
    number = phone_display(call.to_e164)
    length = minutes_seconds(call.recording_seconds)
    open_states = (CallStatus.CALLING, CallStatus.WAITING_FOR_HELLO, CallStatus.RECORDING)
    can_cancel = call.purpose == call.Purpose.RECORD and call.status in (
        *open_states,
        CallStatus.RECORDED,
    )
    simple = {
        CallStatus.CALLING: (f"Calling {number}…", "Answer your phone."),
        CallStatus.WAITING_FOR_HELLO: (
            "Waiting for hello",
            "Say “hello” (or press any key) and follow the instructions.",
        ),
        CallStatus.RECORDING: ("Recording…", "Speak after the beep; press # when you are done."),
        CallStatus.RECORDED: (
            f"Recorded {length}",
            "On the phone: 1 to listen, 2 to record again, 3 or hang up to send, * to cancel.",
        ),
        CallStatus.PLAYING: ("Playing your message", "Hang up when you have heard it."),
        CallStatus.ENDED: ("Call ended", ""),
        CallStatus.CANCELLED: ("Cancelled", "Nothing was sent."),
        CallStatus.FAILED: ("The call failed", call.error_message),
    }
    if call.status in simple:
        label, hint = simple[call.status]
        live = call.status in (*open_states, CallStatus.RECORDED, CallStatus.PLAYING)
        return CallProgress(call, label, hint, live=live, can_cancel=can_cancel)
    return _sending_progress(call, length)


def _sending_progress(call: VoiceRecordingCall, length: str) -> CallProgress:
    broadcast = call.broadcast
    status = broadcast.status if broadcast else Broadcast.Status.CANCELLED
    if status == Broadcast.Status.RECORDING:
        return CallProgress(call, "Sending", f"Recorded {length}; it goes out when you hang up.")
    if status == Broadcast.Status.WAITING:
        reason = broadcast.voice.waiting_reason
        return CallProgress(
            call, "Waiting for credits", reason, live=False, can_cancel=True, can_send_now=True
        )
    if status in (Broadcast.Status.QUEUED, Broadcast.Status.SENDING):
        count = broadcast.recipient_count
        return CallProgress(
            call, "Sending", f"Calling {count:,} number{'s' if count != 1 else ''}."
        )
    if status == Broadcast.Status.DONE:
        return CallProgress(call, "Sent", "Every number has been called.", live=False)
    return CallProgress(call, "Cancelled", "Nothing was sent.", live=False)


# --- a voice broadcast's progress -------------------------------------------------------------


def voice_progress(*, broadcast: Broadcast) -> dict:
    counts = Counter(
        dict(
            Recipient.objects.filter(broadcast=broadcast)
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
    )
    answered = Counter(
        dict(
            VoiceCall.objects.filter(broadcast=broadcast, status="completed")
            .values_list("answered_by")
            .annotate(n=Count("id"))
            .values_list("answered_by", "n")
        )
    )
    machine = sum(n for who, n in answered.items() if who.startswith("machine"))
    refunded = (
        Recipient.objects.filter(broadcast=broadcast, status__in=Recipient.REFUNDABLE).aggregate(
            total=Sum("credits")
        )["total"]
        or 0
    )
    calls_to_staff = broadcast.recording_calls.aggregate(
        charged=Sum("credits_charged"), unpaid=Sum("credits_unpaid")
    )
    return {
        "waiting": counts[Status.PENDING],
        "calling": counts[Status.SENDING],
        "answered": counts[Status.DELIVERED],
        "answered_human": counts[Status.DELIVERED] - machine,
        "answered_machine": machine,
        "unanswered": counts[Status.UNANSWERED],
        "failed": counts[Status.FAILED],
        "skipped": counts[Status.SKIPPED],
        "excluded": counts[Status.EXCLUDED],
        "finished": counts[Status.PENDING] + counts[Status.SENDING] == 0,
        "credits_debited": broadcast.credits_debited,
        "credits_refunded": refunded,
        "credits_spent": broadcast.credits_debited - refunded,
        "staff_call_credits": calls_to_staff["charged"] or 0,
        "staff_call_unpaid": calls_to_staff["unpaid"] or 0,
        "max_retries": settings.VOICE_MAX_RETRIES,
    }


@dataclass
class RecipientCalls:
    recipient: Recipient
    dials: int = 0
    last: VoiceCall | None = None

    @property
    def answered_by(self) -> str:
        who = self.last.answered_by if self.last else ""
        if who.startswith("machine"):
            return "Voicemail"
        return {"human": "Person", "fax": "Fax", "unknown": "Unknown"}.get(who, "")

    @property
    def duration(self) -> str:
        if self.last is None or self.last.duration is None:
            return ""
        return minutes_seconds(self.last.duration)

    @property
    def call_status(self) -> str:
        return self.last.status.replace("-", " ") if self.last else ""


def recipients_with_calls(recipients) -> list[RecipientCalls]:
    """The page's recipients with how often each was dialed and how its last call went, in
    one query for the page."""
    rows = {r.pk: RecipientCalls(r) for r in recipients}
    calls = VoiceCall.objects.filter(recipient_id__in=list(rows)).order_by("recipient_id", "id")
    for call in calls:
        row = rows[call.recipient_id]
        row.dials += 1 if call.sid else 0
        row.last = call
    return list(rows.values())
