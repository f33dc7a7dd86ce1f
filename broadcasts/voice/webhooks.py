"""Twilio's requests during voice calls: the TwiML that drives a call to staff (say hello,
record, listen, send or cancel) and a call to a recipient (the message, press 9 to stop), and
the status callbacks of both.

Every request is verified first (403 without Twilio's signature over SITE_URL + path + query),
then tolerant: an unknown call gets a hang-up (TwiML) or 204 (callbacks), and replays change
nothing because every move below is a conditional update.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from broadcasts.models import VoiceCall, VoiceMessage, VoiceRecordingCall
from broadcasts.sms.revocation import revocation_read
from broadcasts.voice import dial as voice_dial
from broadcasts.voice import recording as voice
from broadcasts.webhooks import signed_by_twilio, twilio_params_problem

CallStatus = VoiceRecordingCall.Status
MAX_TRIES = 3


class TwiML:
    """A TwiML document built as XML, so text can never break out of its element."""

    def __init__(self) -> None:
        self.root = ET.Element("Response")

    def verb(self, name: str, text: str | None = None, *, into=None, **attributes) -> ET.Element:
        element = ET.SubElement(into if into is not None else self.root, name)
        for key, value in attributes.items():
            if value is not None:
                element.set(key, str(value).lower() if isinstance(value, bool) else str(value))
        if text is not None:
            element.text = text
        return element

    def say(self, text: str, *, into=None, voice: str = "", language: str = "") -> ET.Element:
        return self.verb(
            "Say",
            text,
            into=into,
            voice=voice or settings.VOICE_TTS_VOICE,
            language=language or settings.VOICE_TTS_LANGUAGE,
        )

    def response(self) -> HttpResponse:
        body = ET.tostring(self.root, encoding="unicode")
        xml = '<?xml version="1.0" encoding="UTF-8"?>' + body
        return HttpResponse(xml, content_type="application/xml")


logger = logging.getLogger(__name__)


def _hang_up(text: str = "") -> HttpResponse:
    twiml = TwiML()
    if text:
        twiml.say(text)
    twiml.verb("Hangup")
    return twiml.response()


def _int(value: str | None) -> int:
    try:
        return max(int(value or 0), 0)
    except ValueError:
        return 0


def _try(request: HttpRequest) -> int:
    return max(_int(request.GET.get("try")), 1)


def _signed(view: Callable) -> Callable:
    """Twilio's POSTs only, and only with its signature: anything else is refused (403)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not signed_by_twilio(request):
            return HttpResponseForbidden("Invalid signature")
        if problem := twilio_params_problem(request.POST):
            logger.warning("ignored a signed Twilio voice webhook: %s", problem)
            return _hang_up()
        return view(request, *args, **kwargs)

    return csrf_exempt(require_POST(wrapper))


# --- the call to staff ------------------------------------------------------------------------


@_signed
def voice_record_step(request: HttpRequest, token: str, step: str) -> HttpResponse:
    handler = _RECORD_STEPS.get(step)
    if handler is None:
        raise Http404("No such step")
    call = (
        VoiceRecordingCall.objects.select_related("organization", "broadcast", "staff_member")
        .filter(token=token)
        .first()
    )
    if call is None:
        return HttpResponse(status=204) if step in _CALLBACKS else _hang_up()
    return handler(request, call)


def _answer(request: HttpRequest, call: VoiceRecordingCall) -> HttpResponse:
    outcome = voice.recording_call_answered(
        call=call, answered_by=request.POST.get("AnsweredBy", "")
    )
    if outcome == "preview":
        return _preview_twiml(call)
    if outcome == "prompt":
        return _prompt_twiml(call, 1)
    if outcome == "machine":
        return _hang_up()
    return _hang_up("This call is no longer needed. Goodbye.")


def _prompt(request: HttpRequest, call: VoiceRecordingCall) -> HttpResponse:
    tries = _try(request)
    if call.status != CallStatus.WAITING_FOR_HELLO:
        return _hang_up()
    if tries > MAX_TRIES:
        return _hang_up(
            "I did not hear you. Start again from smsvoice when you are ready. Goodbye."
        )
    return _prompt_twiml(call, tries)


def _prompt_twiml(call: VoiceRecordingCall, tries: int) -> HttpResponse:
    """A speech Gather: any speech (hello) goes on; a key press works where speech does not."""
    twiml = TwiML()
    gather = twiml.verb(
        "Gather",
        input="speech dtmf",
        action=voice.recording_call_url(call, "hello"),
        method="POST",
        numDigits=1,
        timeout=6,
        speechTimeout="auto",
        hints="hello, hi, yes",
        language=settings.VOICE_TTS_LANGUAGE,
    )
    greeting = (
        "Hello again." if tries > 1 else f"Hello. This is smsvoice for {call.organization.name}."
    )
    twiml.say(
        f"{greeting} To record your voice broadcast, say hello, or press any key.", into=gather
    )
    twiml.verb(
        "Redirect", voice.recording_call_url(call, "prompt", **{"try": tries + 1}), method="POST"
    )
    return twiml.response()


def _hello(request: HttpRequest, call: VoiceRecordingCall) -> HttpResponse:
    heard = request.POST.get("SpeechResult", "").strip() or request.POST.get("Digits", "").strip()
    if not heard:
        return _prompt_twiml(call, 2) if call.status == CallStatus.WAITING_FOR_HELLO else _hang_up()
    if not voice.recording_call_heard_hello(call=call):
        return _hang_up()
    return _record_twiml(call, 1)


def _record(request: HttpRequest, call: VoiceRecordingCall) -> HttpResponse:
    """Record (again): from the menu's 2, or after a recording that came back empty."""
    tries = _try(request)
    if call.status != CallStatus.RECORDING:
        return _hang_up()
    if tries > MAX_TRIES:
        return _hang_up("I did not hear a message. Nothing will be sent. Goodbye.")
    return _record_twiml(call, tries)


def _record_twiml(call: VoiceRecordingCall, tries: int) -> HttpResponse:
    limit = settings.VOICE_MAX_RECORDING_SECONDS
    twiml = TwiML()
    if tries > 1:
        twiml.say("I did not hear anything. Let's try again.")
    twiml.say(
        f"After the beep, record your message. You have up to {_spoken_length(limit)}. "
        "Press the pound key when you are done."
    )
    twiml.verb(
        "Record",
        action=voice.recording_call_url(call, "recorded"),
        method="POST",
        maxLength=limit,
        finishOnKey="#",
        playBeep=True,
        timeout=10,
        trim="trim-silence",
        recordingStatusCallback=voice.recording_call_url(call, "recording"),
        recordingStatusCallbackMethod="POST",
        recordingStatusCallbackEvent="completed absent",
    )
    # Only reached when the recording came back empty (Twilio then skips the action).
    twiml.verb(
        "Redirect", voice.recording_call_url(call, "record", **{"try": tries + 1}), method="POST"
    )
    return twiml.response()


def _spoken_length(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    parts = [f"{minutes} minute{'s' if minutes != 1 else ''}"] if minutes else []
    parts += [f"{rest} second{'s' if rest != 1 else ''}"] if rest else []
    return " and ".join(parts)


def _recorded(request: HttpRequest, call: VoiceRecordingCall) -> HttpResponse:
    post = request.POST
    hung_up = post.get("Digits", "") == "hangup"
    voice.recording_call_recorded(
        call=call,
        url=post.get("RecordingUrl", ""),
        sid=post.get("RecordingSid", ""),
        seconds=_int(post.get("RecordingDuration")),
        hung_up=hung_up,
    )
    if hung_up:
        return TwiML().response()  # the caller is gone; Twilio ignores any answer
    if call.status == CallStatus.RECORDED:
        return _menu_twiml(call, 1)
    if call.status == CallStatus.RECORDING:
        return _record_twiml(call, 2)
    return _hang_up()


def _menu(request: HttpRequest, call: VoiceRecordingCall) -> HttpResponse:
    digit, tries = request.POST.get("Digits", "").strip(), _try(request)
    if call.status != CallStatus.RECORDED:
        return _hang_up("This recording is no longer open. Goodbye.")
    if digit == "1":
        twiml = _menu_builder(call, tries, listen=True)
        return twiml.response()
    if digit == "2":
        voice.recording_call_record_again(call=call)
        return _record_twiml(call, 1)
    if digit == "3" or (not digit and tries > MAX_TRIES):
        voice.recording_call_accept(call=call)
        return _hang_up(f"Your message will be sent when you hang up. {_goodbye(call)}")
    if digit == "*":
        voice.recording_call_cancel(call=call)
        return _hang_up("Cancelled. Nothing will be sent. Goodbye.")
    return _menu_twiml(call, tries + 1 if not digit else tries)


def _goodbye(call: VoiceRecordingCall) -> str:
    count = call.broadcast.recipient_count if call.broadcast else 0
    return f"It goes to {count} number{'s' if count != 1 else ''}. Goodbye."


def _menu_twiml(call: VoiceRecordingCall, tries: int) -> HttpResponse:
    return _menu_builder(call, tries).response()


def _menu_builder(call: VoiceRecordingCall, tries: int, *, listen: bool = False) -> TwiML:
    twiml = TwiML()
    if listen:
        twiml.verb("Play", call.recording_url)
    gather = twiml.verb(
        "Gather",
        input="dtmf",
        action=voice.recording_call_url(call, "menu", **{"try": tries}),
        method="POST",
        numDigits=1,
        timeout=8,
    )
    length = _spoken_length(call.recording_seconds)
    twiml.say(
        f"You recorded {length}. To listen to it, press 1. To record it again, press 2. "
        "To send it, press 3, or hang up. To cancel, press star.",
        into=gather,
    )
    twiml.verb(
        "Redirect", voice.recording_call_url(call, "menu", **{"try": tries + 1}), method="POST"
    )
    return twiml


def _preview_twiml(call: VoiceRecordingCall) -> HttpResponse:
    twiml = TwiML()
    twiml.say("Here is how your message will sound.")
    twiml.say(call.say_text, voice=call.say_voice, language=call.say_language)
    gather = twiml.verb(
        "Gather",
        input="dtmf",
        action=voice.recording_call_url(call, "replay"),
        method="POST",
        numDigits=1,
        timeout=6,
    )
    twiml.say("To hear it again, press 1.", into=gather)
    twiml.say("Goodbye.")
    twiml.verb("Hangup")
    return twiml.response()


def _replay(request: HttpRequest, call: VoiceRecordingCall) -> HttpResponse:
    if request.POST.get("Digits") == "1" and call.status == CallStatus.PLAYING:
        return _preview_twiml(call)
    return _hang_up("Goodbye.")


def _status(request: HttpRequest, call: VoiceRecordingCall) -> HttpResponse:
    post = request.POST
    provider_status = post.get("CallStatus", "")
    if provider_status in VoiceCall.FINAL:
        voice.recording_call_ended(
            call=call,
            provider_status=provider_status,
            seconds=_int(post.get("CallDuration") or post.get("Duration")),
            answered_by=post.get("AnsweredBy", ""),
        )
    return HttpResponse(status=204)


def _recording(request: HttpRequest, call: VoiceRecordingCall) -> HttpResponse:
    post = request.POST
    if post.get("RecordingStatus") == "absent":
        voice.recording_absent(call=call)
    elif post.get("RecordingStatus") == "completed":
        voice.recording_call_recorded(
            call=call,
            url=post.get("RecordingUrl", ""),
            sid=post.get("RecordingSid", ""),
            seconds=_int(post.get("RecordingDuration")),
        )
    return HttpResponse(status=204)


_RECORD_STEPS: dict[str, Callable[[HttpRequest, VoiceRecordingCall], HttpResponse]] = {
    "answer": _answer,
    "prompt": _prompt,
    "hello": _hello,
    "record": _record,
    "recorded": _recorded,
    "menu": _menu,
    "replay": _replay,
    "status": _status,
    "recording": _recording,
}
_CALLBACKS = {"status", "recording"}


# --- the calls to recipients ------------------------------------------------------------------

OPT_OUT_PROMPT = {
    "en": "To stop receiving these calls from {org}, press 9.",
    "es": "Para dejar de recibir estas llamadas de {org}, oprima 9.",
    "fr": "Pour ne plus recevoir ces appels de {org}, appuyez sur 9.",
}
# With VOICE_SPOKEN_OPT_OUT the prompt also offers the words, heard after the message.
SPOKEN_OPT_OUT_PROMPT = {
    "en": "To stop receiving these calls from {org}, press 9, or say stop calling.",
    "es": "Para dejar de recibir estas llamadas de {org}, oprima 9, o diga no me llamen.",
    "fr": "Pour ne plus recevoir ces appels de {org}, appuyez sur 9, ou dites arrêtez.",
}
SPOKEN_HINTS = "stop calling, stop, unsubscribe, remove me, do not call me, no more calls"
OPTED_OUT = {
    "en": "You will not receive these calls from {org} again. Goodbye.",
    "es": "No recibirá más estas llamadas de {org}. Adiós.",
    "fr": "Vous ne recevrez plus ces appels de {org}. Au revoir.",
}


@_signed
def voice_dial_step(request: HttpRequest, call_id: int, step: str) -> HttpResponse:
    if step == "status":
        post = request.POST
        voice_dial.voice_call_status(
            call_id=call_id,
            sid=post.get("CallSid", ""),
            status=post.get("CallStatus", ""),
            answered_by=post.get("AnsweredBy", ""),
            duration=_int(post.get("CallDuration") or post.get("Duration")),
            error_code=post.get("ErrorCode", ""),
        )
        return HttpResponse(status=204)
    call = (
        VoiceCall.objects.select_related("broadcast__voice", "broadcast__organization", "recipient")
        .filter(pk=call_id)
        .first()
    )
    if call is None or step not in ("answer", "keypad"):
        return _hang_up()
    if step == "keypad":
        return _keypad(request, call)
    answered_by = request.POST.get("AnsweredBy", "")
    voice_dial.voice_call_answered(call=call, answered_by=answered_by)
    if answered_by == "fax":
        return _hang_up()
    twiml = TwiML()
    message = getattr(call.broadcast, "voice", None)
    voice_name, language = _speaker(message)
    if answered_by.startswith("machine"):  # the greeting is over: leave the message
        _message_verb(twiml, call, message, into=None)
    else:
        gather = twiml.verb(
            "Gather",
            input="dtmf",
            action=voice_dial.dial_url(call, "keypad"),
            method="POST",
            numDigits=1,
            timeout=5,
        )
        _message_verb(twiml, call, message, into=gather)
        prompts = SPOKEN_OPT_OUT_PROMPT if settings.VOICE_SPOKEN_OPT_OUT else OPT_OUT_PROMPT
        prompt = prompts[language[:2]].format(org=call.broadcast.organization.name)
        twiml.say(prompt, into=gather, voice=voice_name, language=language)
        if settings.VOICE_SPOKEN_OPT_OUT:
            _spoken_opt_out_gather(twiml, call, language)
    twiml.verb("Hangup")
    return twiml.response()


def _spoken_opt_out_gather(twiml: TwiML, call: VoiceCall, language: str) -> None:
    """A few seconds of listening once the message and its prompt are over: speech is heard
    only here (a "hello?" over the message must not cut it short, and the recognition Twilio
    bills for runs only for whoever stays on the line), a key press still works."""
    twiml.verb(
        "Gather",
        input="dtmf speech",
        action=voice_dial.dial_url(call, "keypad"),
        method="POST",
        numDigits=1,
        timeout=4,
        speechTimeout="auto",
        language=language,
        hints=SPOKEN_HINTS,
        actionOnEmptyResult="false",
    )


def _speaker(message: VoiceMessage | None) -> tuple[str, str]:
    if message is not None and message.source == VoiceMessage.Source.TTS:
        return message.tts_voice, message.tts_language
    return settings.VOICE_TTS_VOICE, settings.VOICE_TTS_LANGUAGE


def _message_verb(twiml: TwiML, call: VoiceCall, message: VoiceMessage | None, *, into) -> None:
    if message is not None and message.source == VoiceMessage.Source.RECORDING:
        twiml.verb("Play", message.recording_url, into=into)
        return
    voice_name, language = _speaker(message)
    twiml.say(call.broadcast.text, into=into, voice=voice_name, language=language)


def _keypad(request: HttpRequest, call: VoiceCall) -> HttpResponse:
    """9, or words that revoke ("stop calling", "take me off your list": the revocation rules
    of texts, broadcasts.sms.revocation): no more calls. Anything else ends the call."""
    spoken = request.POST.get("SpeechResult", "").strip()[:500]
    pressed_9 = request.POST.get("Digits", "").strip() == "9"
    if not pressed_9 and not (spoken and revocation_read(spoken).revokes):
        return _hang_up()
    broadcast = call.broadcast
    voice_dial.voice_opt_out(
        organization=broadcast.organization,
        e164=call.recipient.e164,
        broadcast=broadcast,
        words="" if pressed_9 else spoken,
    )
    voice_name, language = _speaker(getattr(broadcast, "voice", None))
    twiml = TwiML()
    twiml.say(
        OPTED_OUT[language[:2]].format(org=broadcast.organization.name),
        voice=voice_name,
        language=language,
    )
    twiml.verb("Hangup")
    return twiml.response()
