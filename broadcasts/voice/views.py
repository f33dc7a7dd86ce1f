"""Staff pages for voice broadcasts: the voice dialog (record by phone, or text-to-speech),
the call's live progress, Send now, cancelling, and the demo's simulated calls."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from broadcasts.models import Broadcast, OutboxMessage, VoiceCall, VoiceRecordingCall
from broadcasts.recipients import BroadcastRefused
from broadcasts.views import NOUNS, kind_or_404
from broadcasts.voice import dial as voice_dial
from broadcasts.voice import recording as voice
from broadcasts.voice.selectors import recording_call_for, recording_call_progress
from families.phones import phone_display
from families.selection import Selection, selection_from_session, selection_to_session
from smsvoice.http import safe_next
from smsvoice.tenancy import staff_required

DEMO_RECORDING_SECONDS = 42


def _fragment(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _voice_languages() -> list[dict]:
    return [
        {
            "code": code,
            "label": label,
            "voices": [
                (name, voice.TTS_VOICE_NAMES[name])
                for name, language in settings.VOICE_TTS_VOICES.items()
                if language == code
            ],
        }
        for code, label in voice.TTS_LANGUAGES.items()
    ]


@staff_required
def voice_compose(request: HttpRequest, kind: str) -> HttpResponse:
    """The voice dialog: who will be called, the estimate, then Call me (record by phone),
    Call me to hear it or Send (text-to-speech)."""
    kind = kind_or_404(kind)
    organization = request.organization
    refusal = voice.voice_refusal(organization=organization)
    if refusal:
        return render(request, "broadcasts/voice_refused.html", {"refusal": refusal}, status=403)
    selection = selection_from_session(request.session, kind=kind)
    preference = voice.voice_preference_for(staff_member=request.staff_member)
    post = request.POST
    remembered = phone_display(preference.callback_e164) if preference.callback_e164 else ""
    form = {
        "callback": post.get("callback", remembered),
        "text": post.get("text", ""),
        "voice": post.get("voice", preference.tts_voice or settings.VOICE_TTS_VOICE),
        "language": post.get("language", preference.tts_language or settings.VOICE_TTS_LANGUAGE),
    }
    call, error = None, ""
    if request.method == "POST":
        try:
            outcome = _act(request, selection, form)
        except BroadcastRefused as refused:
            error = str(refused)
        else:
            if isinstance(outcome, HttpResponse):
                return outcome
            call = outcome
    seconds = voice.tts_seconds(form["text"])
    context = {
        "kind": kind,
        "noun": NOUNS[kind],
        "form": form,
        "error": error,
        "preview": voice.voice_preview(
            organization=organization, selection=selection, seconds=seconds
        ),
        "call": call,
        "progress": recording_call_progress(call=call) if call else None,
        "languages": _voice_languages(),
        "max_recording": voice.minutes_seconds(settings.VOICE_MAX_RECORDING_SECONDS),
        "max_retries": settings.VOICE_MAX_RETRIES,
        "outbox": settings.SMS_BACKEND == "outbox",
        "back_url": safe_next(request, f"/{kind}/"),
    }
    if _fragment(request):
        template = "broadcasts/_voice_body.html" if request.method == "POST" else None
        return render(request, template or "broadcasts/_voice_dialog.html", context)
    return render(request, "broadcasts/voice_compose.html", context)


def _act(request: HttpRequest, selection: Selection, form: dict):
    """Do what the pressed button asks; a response to return, or the call placed."""
    action = request.POST.get("action", "")
    common = {"organization": request.organization, "sender": request.staff_member}
    if action == "call":
        call = voice.recording_call_start(
            **common, selection=selection, callback_number=form["callback"]
        )
        if _fragment(request):
            return call
        return redirect("broadcasts:detail", pk=call.broadcast_id)
    if action == "hear":
        return voice.tts_preview_call_start(
            **common,
            text=form["text"],
            voice=form["voice"],
            language=form["language"],
            callback_number=form["callback"],
        )
    if action == "send":
        broadcast = voice.tts_broadcast_create(
            **common,
            selection=selection,
            text=form["text"],
            voice=form["voice"],
            language=form["language"],
        )
        selection_to_session(request.session, selection=Selection(kind=selection.kind))
        messages.success(request, f"Calling {broadcast.recipient_count:,} numbers.")
        url = reverse("broadcasts:detail", args=[broadcast.pk])
        if _fragment(request):
            return HttpResponse(status=204, headers={"HX-Redirect": url})
        return redirect(url)
    raise BroadcastRefused("Choose what to do: call me to record, hear it, or send.")


@staff_required
@require_POST
def voice_estimate(request: HttpRequest, kind: str) -> HttpResponse:
    """The text-to-speech estimate, recounted as the message is typed (htmx)."""
    kind = kind_or_404(kind)
    selection = selection_from_session(request.session, kind=kind)
    preview = voice.voice_preview(
        organization=request.organization,
        selection=selection,
        seconds=voice.tts_seconds(request.POST.get("text", "")),
    )
    return render(request, "broadcasts/_voice_estimate.html", {"preview": preview})


def _call_or_404(request: HttpRequest, pk: int) -> VoiceRecordingCall:
    call = recording_call_for(organization=request.organization, pk=pk)
    if call is None:
        raise Http404("No such call")
    return call


def _call_answer(request: HttpRequest, call: VoiceRecordingCall) -> HttpResponse:
    if _fragment(request) or request.method == "GET":
        call.refresh_from_db()
        progress = recording_call_progress(call=call)
        context = {"call": call, "progress": progress, "outbox": settings.SMS_BACKEND == "outbox"}
        return render(request, "broadcasts/_voice_call.html", context)
    if call.broadcast_id:
        return redirect("broadcasts:detail", pk=call.broadcast_id)
    return redirect("broadcasts:list")


@staff_required
def voice_call_progress(request: HttpRequest, pk: int) -> HttpResponse:
    return _call_answer(request, _call_or_404(request, pk))


@staff_required
@require_POST
def voice_call_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    call = _call_or_404(request, pk)
    if call.broadcast is not None:
        voice.voice_broadcast_cancel(broadcast=call.broadcast)
    else:
        voice.recording_call_cancel(call=call, hang_up=True)
    return _call_answer(request, call)


@staff_required
@require_POST
def voice_send_now(request: HttpRequest, pk: int) -> HttpResponse:
    """After buying credits: send a recorded broadcast that was waiting for them."""
    broadcast = get_object_or_404(Broadcast.objects.for_org(request.organization), pk=pk)
    broadcast = voice.voice_broadcast_send(broadcast_id=broadcast.pk, actor=request.user)
    if broadcast.status == Broadcast.Status.WAITING:
        messages.error(request, broadcast.voice.waiting_reason)
    elif broadcast.status in (Broadcast.Status.QUEUED, Broadcast.Status.SENDING):
        messages.success(request, f"Calling {broadcast.recipient_count:,} numbers.")
    return redirect("broadcasts:detail", pk=broadcast.pk)


@staff_required
@require_POST
def voice_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    broadcast = get_object_or_404(Broadcast.objects.for_org(request.organization), pk=pk)
    if voice.voice_broadcast_cancel(broadcast=broadcast):
        messages.success(request, "Cancelled; nothing was sent.")
    return redirect("broadcasts:detail", pk=broadcast.pk)


# --- the demo: no Twilio, so play the phone ---------------------------------------------------


def _outbox_only() -> None:
    if settings.SMS_BACKEND != "outbox":
        raise Http404("Simulated calls exist only when no provider is configured.")


@staff_required
@require_POST
def voice_call_simulate(request: HttpRequest, pk: int) -> HttpResponse:
    """Simulate: answer, say hello, record 0:42, hang up (or, for a preview, listen and hang
    up), through the same services as Twilio's requests."""
    _outbox_only()
    call = _call_or_404(request, pk)
    voice.recording_call_answered(call=call, answered_by="human")
    seconds = 20
    if call.purpose == VoiceRecordingCall.Purpose.RECORD:
        voice.recording_call_heard_hello(call=call)
        voice.recording_call_recorded(
            call=call,
            url=f"outbox:recording/{call.token}",
            sid=f"RE{call.token[:32]}",
            seconds=DEMO_RECORDING_SECONDS,
        )
        seconds = DEMO_RECORDING_SECONDS + 35
    OutboxMessage.objects.filter(sid=call.sid).update(status="completed")
    voice.recording_call_ended(
        call=call, provider_status="completed", seconds=seconds, answered_by="human"
    )
    return _call_answer(request, call)


@staff_required
@require_POST
def voice_simulate_answers(request: HttpRequest, pk: int) -> HttpResponse:
    """Play the phones: every call of this broadcast still open ends as chosen (answered by a
    person, by voicemail, busy…), through the same service as Twilio's status callbacks."""
    _outbox_only()
    broadcast = get_object_or_404(Broadcast.objects.for_org(request.organization), pk=pk)
    outcome = request.POST.get("outcome", "human")
    status, answered_by = {
        "human": ("completed", "human"),
        "machine": ("completed", "machine_end_beep"),
        "busy": ("busy", ""),
        "no-answer": ("no-answer", ""),
    }.get(outcome, ("completed", "human"))
    seconds = getattr(getattr(broadcast, "voice", None), "seconds", 0)
    count = 0
    for call in VoiceCall.objects.filter(broadcast=broadcast, finished_at=None).exclude(sid=None):
        voice_dial.voice_call_status(
            call_id=call.pk,
            sid=call.sid,
            status=status,
            answered_by=answered_by,
            duration=seconds + 8 if status == "completed" else 0,
        )
        OutboxMessage.objects.filter(sid=call.sid).update(status=status)
        count += 1
    messages.success(request, f"{count:,} calls ended: {outcome.replace('-', ' ')}.")
    return redirect("broadcasts:detail", pk=broadcast.pk)


@staff_required
def voice_progress_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    from broadcasts.voice.selectors import voice_progress

    broadcast = get_object_or_404(Broadcast.objects.for_org(request.organization), pk=pk)
    context = {
        "broadcast": broadcast,
        "voice_progress": voice_progress(broadcast=broadcast),
        "outbox": settings.SMS_BACKEND == "outbox",
    }
    return render(request, "broadcasts/_voice_progress.html", context)
