"""Staff pages for voice broadcasts: the voice dialog (record by phone, or text-to-speech),
the call's live progress, Send now, cancelling, and the demo's simulated calls."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from broadcasts.drafts import draft_clear, draft_get, draft_save
from broadcasts.models import Broadcast, OutboxMessage, VoiceCall, VoiceRecordingCall
from broadcasts.recipients import BroadcastRefused
from broadcasts.views import NOUNS, kind_or_404, progress_answer, progress_context
from broadcasts.voice import recording as voice
from broadcasts.voice.outbox_calls import OUTCOMES, outbox_calls_end
from broadcasts.voice.selectors import recording_call_for, recording_call_progress
from families.phones import phone_display
from families.selection import Selection, selection_from_session, selection_to_session
from smsvoice.http import safe_next
from smsvoice.permissions import send_texts_required, sends_or_views_texts_required

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


@send_texts_required
def voice_compose(request: HttpRequest, kind: str) -> HttpResponse:
    """The voice dialog: who will be called, the estimate, then Call me (record by phone),
    Call me to hear it or Send (text-to-speech). Call me and Send ask for a confirmation with
    the count and the cost first; the typed text is kept as a draft until sent or discarded."""
    kind = kind_or_404(kind)
    organization = request.organization
    refusal = voice.voice_refusal(organization=organization)
    if refusal:
        return render(request, "broadcasts/voice_refused.html", {"refusal": refusal}, status=403)
    selection = selection_from_session(request.session, kind=kind)
    draft = {"session": request.session, "channel": "voice", "selection": selection}
    preference = voice.voice_preference_for(staff_member=request.staff_member)
    post = request.POST
    action = post.get("action", "")
    remembered = phone_display(preference.callback_e164) if preference.callback_e164 else ""
    form = {
        "callback": post.get("callback", remembered),
        "text": "" if action == "discard" else post.get("text", draft_get(**draft)),
        "voice": post.get("voice", preference.tts_voice or settings.VOICE_TTS_VOICE),
        "language": post.get("language", preference.tts_language or settings.VOICE_TTS_LANGUAGE),
    }
    call, error, short, confirming = None, "", False, ""
    if request.method == "POST":
        draft_save(**draft, text=form["text"])
        try:
            outcome = _act(request, selection, form)
        except voice.CreditsShort as refused:
            error, short = str(refused), True
        except BroadcastRefused as refused:
            error = str(refused)
        else:
            if isinstance(outcome, HttpResponse):
                return outcome
            if isinstance(outcome, str):
                confirming = outcome
            else:
                call = outcome
    seconds = voice.tts_seconds(form["text"])
    context = {
        "kind": kind,
        "noun": NOUNS[kind],
        "form": form,
        "error": error,
        "error_short": short,
        "confirming": confirming,
        "draft_kept": bool(form["text"].strip()),
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
    """Do what the pressed button asks: a response to return, the call placed, or which
    confirmation to show ("call" or "send")."""
    action = request.POST.get("action", "")
    common = {"organization": request.organization, "sender": request.staff_member}
    tts = {"text": form["text"], "voice": form["voice"], "language": form["language"]}
    if action == "confirm_call":
        voice.recording_call_ready(
            organization=request.organization,
            selection=selection,
            callback_number=form["callback"],
        )
        return "call"
    if action == "confirm_send":
        voice.tts_broadcast_ready(organization=request.organization, selection=selection, **tts)
        return "send"
    if action in ("edit", "discard"):
        return None
    if action == "call":
        call = voice.recording_call_start(
            **common, selection=selection, callback_number=form["callback"]
        )
        if _fragment(request):
            return call
        return redirect("broadcasts:detail", pk=call.broadcast_id)
    if action == "hear":
        return voice.tts_preview_call_start(**common, **tts, callback_number=form["callback"])
    if action == "send":
        broadcast = voice.tts_broadcast_create(**common, selection=selection, **tts)
        draft_clear(request.session, channel="voice", selection=selection)
        selection_to_session(request.session, selection=Selection(kind=selection.kind))
        url = reverse("broadcasts:detail", args=[broadcast.pk])
        if _fragment(request):
            return HttpResponse(status=204, headers={"HX-Redirect": url})
        return redirect(url)
    raise BroadcastRefused("Choose what to do: call me to record, hear it, or send.")


@send_texts_required
@require_POST
def voice_estimate(request: HttpRequest, kind: str) -> HttpResponse:
    """The text-to-speech estimate, recounted as the message is typed (htmx)."""
    kind = kind_or_404(kind)
    selection = selection_from_session(request.session, kind=kind)
    text = request.POST.get("text", "")
    draft_save(request.session, channel="voice", selection=selection, text=text)
    preview = voice.voice_preview(
        organization=request.organization,
        selection=selection,
        seconds=voice.tts_seconds(text),
    )
    context = {"preview": preview, "draft_kept": bool(text.strip())}
    return render(request, "broadcasts/_voice_estimate.html", context)


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


@send_texts_required
def voice_call_progress(request: HttpRequest, pk: int) -> HttpResponse:
    return _call_answer(request, _call_or_404(request, pk))


@send_texts_required
@require_POST
def voice_call_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    call = _call_or_404(request, pk)
    if call.broadcast is not None:
        voice.voice_broadcast_cancel(broadcast=call.broadcast)
    else:
        voice.recording_call_cancel(call=call, hang_up=True)
    return _call_answer(request, call)


@send_texts_required
@require_POST
def voice_send_now(request: HttpRequest, pk: int) -> HttpResponse:
    """After buying credits: send a recorded broadcast that was waiting for them."""
    broadcast = get_object_or_404(Broadcast.objects.for_org(request.organization), pk=pk)
    broadcast = voice.voice_broadcast_send(broadcast_id=broadcast.pk, actor=request.user)
    if broadcast.status == Broadcast.Status.WAITING:
        messages.error(request, broadcast.voice.waiting_reason)
    return redirect("broadcasts:detail", pk=broadcast.pk)


@send_texts_required
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


@send_texts_required
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


@send_texts_required
@require_POST
def voice_simulate_answers(request: HttpRequest, pk: int) -> HttpResponse:
    """Play the phones: every call of this broadcast still open ends as chosen (answered by a
    person, by voicemail, busy…), through the same service as Twilio's status callbacks."""
    _outbox_only()
    broadcast = get_object_or_404(Broadcast.objects.for_org(request.organization), pk=pk)
    outcome = request.POST.get("outcome", "human")
    outcome = outcome if outcome in OUTCOMES else "human"
    count = outbox_calls_end(calls=VoiceCall.objects.filter(broadcast=broadcast), outcome=outcome)
    ended = ngettext("%(n)s call ended", "%(n)s calls ended", count) % {"n": f"{count:,}"}
    messages.success(request, f"{ended}: {outcome.replace('-', ' ')}.")
    return redirect("broadcasts:detail", pk=broadcast.pk)


@sends_or_views_texts_required
def voice_progress_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    broadcast = get_object_or_404(Broadcast.objects.for_org(request.organization), pk=pk)
    context = progress_context(request, broadcast)
    response = render(request, "broadcasts/_voice_progress.html", context)
    return progress_answer(request, response, context)
