"""The embedded demo's phones: calls the outbox "placed" to recipients end the way staff pick
(answered, voicemail, busy, no answer), or by themselves as answered after a few seconds, so a
demo broadcast finishes without anyone pressing a button.

The demo runs tasks in-process with no broker and no timer, so the pages that watch calls (the
broadcast's progress poll, the outbox) settle the overdue ones when they are asked. Every end
goes through ``voice_call_status``, the service Twilio's status callbacks use.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from broadcasts.models import Broadcast, OutboxMessage, VoiceCall
from broadcasts.voice.dial import voice_call_status
from smsvoice.models import Organization

# How long a demo call rings before it answers by itself.
OUTBOX_ANSWER_SECONDS = 5
# Beyond the message, what an answered call lasts (the greeting, "press 9").
CALL_EXTRA_SECONDS = 8
OUTCOMES = {
    "human": ("completed", "human"),
    "machine": ("completed", "machine_end_beep"),
    "busy": ("busy", ""),
    "no-answer": ("no-answer", ""),
}


def outbox_calls_end(*, calls, outcome: str = "human") -> int:
    """End each open call as ``outcome`` through the status callback's service; how many."""
    status, answered_by = OUTCOMES.get(outcome, OUTCOMES["human"])
    count = 0
    for call in calls.filter(finished_at=None).exclude(sid=None).select_related("broadcast__voice"):
        message = getattr(call.broadcast, "voice", None)
        seconds = (message.seconds if message else 0) + CALL_EXTRA_SECONDS
        voice_call_status(
            call_id=call.pk,
            sid=call.sid,
            status=status,
            answered_by=answered_by,
            duration=seconds if status == "completed" else 0,
        )
        OutboxMessage.objects.filter(sid=call.sid).update(status=status)
        count += 1
    return count


def outbox_calls_settle(
    *, organization: Organization, broadcast: Broadcast | None = None, now=None
) -> int:
    """Answer (as a person) the demo's calls that have rung OUTBOX_ANSWER_SECONDS or more."""
    if settings.SMS_BACKEND != "outbox":
        return 0
    cutoff = (now or timezone.now()) - timedelta(seconds=OUTBOX_ANSWER_SECONDS)
    ringing = OutboxMessage.objects.filter(
        kind=OutboxMessage.Kind.CALL, status="queued", created_at__lte=cutoff
    ).values("sid")
    calls = VoiceCall.objects.for_org(organization).filter(sid__in=ringing)
    if broadcast is not None:
        calls = calls.filter(broadcast=broadcast)
    return outbox_calls_end(calls=calls, outcome="human")
