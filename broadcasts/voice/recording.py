"""Write paths for voice broadcasts: the estimate, the call that records a broadcast (or lets
staff hear a text-to-speech one), and sending it.

Money. A call to staff costs 1 credit per started minute of the call, charged once when it
ends (a cancelled recording still pays its call). Recipients cost 1 credit per started minute
of the message per number dialed, debited with their rows in one transaction when the
broadcast is sent; if the balance is short then, a recorded broadcast waits (``waiting``) with
its recording kept until staff press Send now. If the balance cannot cover a call when it
ends, what is available is taken and the rest is kept on the call as ``credits_unpaid``,
collected with the broadcast's own debit before anything is dialed.

Voice is for the US and Canada: every entry point refuses other organizations.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from broadcasts.engine.queue import enqueue_dispatch, task
from broadcasts.models import (
    Broadcast,
    Recipient,
    VoiceMessage,
    VoicePreference,
    VoiceRecordingCall,
)
from broadcasts.providers import sms_provider
from broadcasts.recipients import (
    DIRECTORY_CHANGED,
    BroadcastRefused,
    directory_changed,
    nobody_message,
    recipients_insert,
)
from broadcasts.selectors import (
    RecipientPlan,
    excluded_rows,
    recipients_plan,
    sending_number_active,
)
from broadcasts.typed_text import refused_characters_message
from credits.selectors import credits_balance, sending_suspended, sending_suspended_reason
from credits.services import InsufficientCredits, credits_debit
from families.phones import phone_display, phone_parse
from families.selection import Selection
from smsvoice.models import Organization, StaffMember

logger = logging.getLogger(__name__)
CallStatus = VoiceRecordingCall.Status
Status = Recipient.Status

NOT_ALLOWED = (
    "Voice broadcasts are available to organizations in the US and Canada only; "
    "{name} can send text messages."
)
TTS_MAX_CHARACTERS = 1500
TTS_LANGUAGES = {"en-US": "English (US)", "es-US": "Spanish (US)", "fr-CA": "French (Canada)"}
TTS_VOICE_NAMES = {
    "Polly.Joanna": "Joanna (female)",
    "Polly.Matthew": "Matthew (male)",
    "Polly.Lupe": "Lupe (female)",
    "Polly.Miguel": "Miguel (male)",
    "Polly.Chantal": "Chantal (female)",
}
# Seconds a call to staff may take beyond the recording itself (prompts, menu, listening back).
CALL_OVERHEAD_SECONDS = 120


class CreditsShort(BroadcastRefused):
    """Refused for want of credits: the page adds what to do about it, by role (an admin buys
    credits; other staff ask an admin)."""


def credits_words(n: int) -> str:
    return ngettext("%(n)s credit", "%(n)s credits", n) % {"n": f"{n:,}"}


def numbers_words(n: int) -> str:
    return ngettext("%(n)s number", "%(n)s numbers", n) % {"n": f"{n:,}"}


def available_words(n: int) -> str:
    return ngettext("%(n)s is available", "%(n)s are available", n) % {"n": f"{n:,}"}


# --- money -----------------------------------------------------------------------------------


def credits_for_seconds(seconds: int) -> int:
    """1 credit per started minute: 0:00 → 0, 0:01…1:00 → 1, 1:01 → 2."""
    return max(0, -(-int(seconds) // 60))


def minutes_seconds(seconds: int) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


def tts_seconds(text: str) -> int:
    """How long a voice takes to read ``text``: about 150 words a minute, rounded up."""
    words = len(re.findall(r"\S+", text))
    return -(-words * 60 // 150) if words else 0


def staff_call_reserve(seconds: int = 0) -> int:
    """Credits a call to staff may cost at most: the longest recording (or the message to
    hear) plus the prompts. The balance must cover it before we call."""
    longest = seconds or settings.VOICE_MAX_RECORDING_SECONDS
    return credits_for_seconds(longest + CALL_OVERHEAD_SECONDS)


# --- checks shared by every entry point -------------------------------------------------------


def voice_refusal(*, organization: Organization) -> str:
    """Why this organization cannot send voice broadcasts at all, or ''."""
    if not organization.voice_allowed:
        return NOT_ALLOWED.format(name=organization.name)
    return ""


def _refuse_unless_allowed(organization: Organization) -> None:
    refusal = voice_refusal(organization=organization)
    if refusal:
        raise BroadcastRefused(refusal)


def callback_number_parse(raw: str, *, organization: Organization) -> str:
    """Staff's call-back number in E.164: a US or Canadian number (both are one plan)."""
    countries = [organization.country, *({"US", "CA"} - {organization.country})]
    for country in countries:
        try:
            return phone_parse(raw, country=country)
        except ValidationError:
            continue
    raise BroadcastRefused(f"{(raw or '').strip() or 'That'} is not a US or Canadian number.")


def tts_choice_check(*, voice: str, language: str) -> None:
    if language not in TTS_LANGUAGES:
        raise BroadcastRefused("Choose a language: " + ", ".join(TTS_LANGUAGES.values()) + ".")
    if settings.VOICE_TTS_VOICES.get(voice) != language:
        names = [
            TTS_VOICE_NAMES[v] for v, lang in settings.VOICE_TTS_VOICES.items() if lang == language
        ]
        raise BroadcastRefused(
            f"Choose a voice that speaks {TTS_LANGUAGES[language]}: {', '.join(names)}."
        )


def tts_text_clean(text: str) -> str:
    # Checked before spaces are squeezed: str.split() takes some control characters for spaces.
    refused = refused_characters_message(text or "")
    if refused:
        raise BroadcastRefused(refused)
    text = " ".join((text or "").split())
    if not text:
        raise BroadcastRefused("Type the message to be read out.")
    if len(text) > TTS_MAX_CHARACTERS:
        raise BroadcastRefused(
            f"The message is {len(text):,} characters; the most is {TTS_MAX_CHARACTERS:,}."
        )
    return text


# --- the estimate -----------------------------------------------------------------------------


@dataclass
class VoicePreview:
    numbers: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    seconds: int = 0  # 0 until the message exists (a recording not yet made)
    credits_available: int = 0
    problems: list[str] = field(default_factory=list)
    # What the call to staff may cost at most (recording, or hearing a typed message).
    call_reserve: int = 0

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())

    @property
    def call_short(self) -> bool:
        """The balance cannot cover the call to staff: Call me would be refused."""
        return self.credits_available < self.call_reserve

    @property
    def credits_per_minute(self) -> int:
        """What each started minute of the message costs: one credit per number dialed."""
        return self.numbers

    @property
    def credits_needed(self) -> int:
        return self.numbers * credits_for_seconds(self.seconds)

    @property
    def affordable_minutes(self) -> int:
        return self.credits_available // self.numbers if self.numbers else 0

    @property
    def short(self) -> bool:
        return self.seconds > 0 and self.credits_needed > self.credits_available

    @property
    def length(self) -> str:
        return minutes_seconds(self.seconds)

    def as_dict(self) -> dict:
        return {
            "numbers": self.numbers,
            "excluded": excluded_rows(self.excluded),
            "excluded_total": self.excluded_total,
            "credits_per_minute": self.credits_per_minute,
            "seconds": self.seconds,
            "credits_needed": self.credits_needed,
            "credits_available": self.credits_available,
            "short": self.short,
            "problems": self.problems,
        }


def voice_preview(
    *, organization: Organization, selection: Selection, seconds: int = 0
) -> VoicePreview:
    preview = VoicePreview(
        seconds=seconds,
        credits_available=credits_balance(organization=organization),
        call_reserve=staff_call_reserve(),
    )
    refusal = voice_refusal(organization=organization)
    if refusal:
        preview.problems.append(refusal)
        return preview
    plan = recipients_plan(organization=organization, selection=selection, channel="voice")
    preview.numbers = len(plan.recipients)
    preview.excluded = plan.excluded_by_reason
    preview.problems.extend(_sending_problems(organization, plan))
    return preview


def _sending_problems(organization: Organization, plan: RecipientPlan) -> list[str]:
    problems = []
    if sending_suspended(organization=organization):
        reason = sending_suspended_reason(organization=organization)
        problems.append(f"Sending is suspended: {reason}")
    if sending_number_active(organization=organization) is None:
        problems.append(
            "There is no sending number yet: an admin sets one up in Settings > SMS & Voice."
        )
    if not plan.recipients:
        problems.append(nobody_message(plan.excluded_by_reason, can="be called"))
    return problems


# --- remembered choices -----------------------------------------------------------------------


def voice_preference_for(*, staff_member: StaffMember) -> VoicePreference:
    found = VoicePreference.objects.filter(staff_member=staff_member).first()
    return found or VoicePreference(
        staff_member=staff_member,
        tts_voice=settings.VOICE_TTS_VOICE,
        tts_language=settings.VOICE_TTS_LANGUAGE,
    )


def voice_preference_remember(*, staff_member: StaffMember, **choices: str) -> None:
    VoicePreference.objects.update_or_create(staff_member=staff_member, defaults=choices)


# --- calling staff ----------------------------------------------------------------------------


def recording_call_start(
    *,
    organization: Organization,
    sender: StaffMember,
    selection: Selection,
    callback_number: str,
) -> VoiceRecordingCall:
    """Call staff to record a broadcast for ``selection``. The broadcast exists from now on
    (status ``recording``), so the selection is the one they saw; it is sent when the call
    ends with an accepted recording. Refused (nothing written) on any problem."""
    e164, preview = recording_call_ready(
        organization=organization, selection=selection, callback_number=callback_number
    )
    number = sending_number_active(organization=organization)
    with transaction.atomic():
        broadcast = Broadcast.objects.create(
            organization=organization,
            channel=Broadcast.Channel.VOICE,
            status=Broadcast.Status.RECORDING,
            selection_kind=selection.kind,
            selection=selection.to_dict(),
            sender=sender,
            sender_label=sender.full_name,
            from_e164=number.e164,
            recipient_count=preview.numbers,
            excluded_count=preview.excluded_total,
        )
        VoiceMessage.objects.create(broadcast=broadcast, source=VoiceMessage.Source.RECORDING)
        call = _new_staff_call(
            organization, sender, e164, number.e164, VoiceRecordingCall.Purpose.RECORD, broadcast
        )
        voice_preference_remember(staff_member=sender, callback_e164=e164)
    _place_staff_call(call)
    return call


def recording_call_ready(
    *, organization: Organization, selection: Selection, callback_number: str
) -> tuple[str, VoicePreview]:
    """What Call me would be refused for, raised before anything is written (the dialog's
    confirmation asks this first); else the number to call and the estimate."""
    _refuse_unless_allowed(organization)
    e164 = callback_number_parse(callback_number, organization=organization)
    preview = voice_preview(organization=organization, selection=selection)
    if preview.problems:
        raise BroadcastRefused(preview.problems[0])
    _refuse_unless_call_affordable(preview.credits_available, staff_call_reserve())
    return e164, preview


def tts_broadcast_ready(
    *, organization: Organization, selection: Selection, text: str, voice: str, language: str
) -> VoicePreview:
    """What Send would be refused for (text, voice, problems, credits), before anything is
    written; else the estimate the confirmation shows."""
    _refuse_unless_allowed(organization)
    text = tts_text_clean(text)
    tts_choice_check(voice=voice, language=language)
    seconds = tts_seconds(text)
    preview = voice_preview(organization=organization, selection=selection, seconds=seconds)
    if preview.problems:
        raise BroadcastRefused(preview.problems[0])
    if preview.short:
        raise CreditsShort(_tts_short_message(preview.credits_needed, preview))
    return preview


def _tts_short_message(needed: int, preview: VoicePreview) -> str:
    return (
        f"This needs {credits_words(needed)} ({numbers_words(preview.numbers)} × "
        f"{credits_words(credits_for_seconds(preview.seconds))} for about {preview.length} "
        f"of speech) but only {available_words(preview.credits_available)}. Shorten the "
        "message or send to fewer people."
    )


def tts_preview_call_start(
    *,
    organization: Organization,
    sender: StaffMember,
    text: str,
    voice: str,
    language: str,
    callback_number: str,
) -> VoiceRecordingCall:
    """Call staff so they hear how a text-to-speech message will sound. Charged like any call."""
    _refuse_unless_allowed(organization)
    e164 = callback_number_parse(callback_number, organization=organization)
    text = tts_text_clean(text)
    tts_choice_check(voice=voice, language=language)
    number = sending_number_active(organization=organization)
    if number is None:
        raise BroadcastRefused(
            "There is no sending number yet: an admin sets one up in Settings > SMS & Voice."
        )
    available = credits_balance(organization=organization)
    _refuse_unless_call_affordable(available, staff_call_reserve(tts_seconds(text)))
    with transaction.atomic():
        call = _new_staff_call(
            organization, sender, e164, number.e164, VoiceRecordingCall.Purpose.PREVIEW, None
        )
        VoiceRecordingCall.objects.filter(pk=call.pk).update(
            say_text=text, say_voice=voice, say_language=language
        )
        voice_preference_remember(
            staff_member=sender, callback_e164=e164, tts_voice=voice, tts_language=language
        )
    _place_staff_call(call)
    call.refresh_from_db()
    return call


def _refuse_unless_call_affordable(available: int, reserve: int) -> None:
    if available < reserve:
        raise CreditsShort(
            f"Not enough credits to call you: the call costs 1 credit per started minute, up "
            f"to {credits_words(reserve)}, and only {available_words(available)}."
        )


def _new_staff_call(
    organization: Organization,
    sender: StaffMember,
    to_e164: str,
    from_e164: str,
    purpose: str,
    broadcast: Broadcast | None,
) -> VoiceRecordingCall:
    return VoiceRecordingCall.objects.create(
        organization=organization,
        broadcast=broadcast,
        staff_member=sender,
        purpose=purpose,
        token=secrets.token_urlsafe(24),
        to_e164=to_e164,
        from_e164=from_e164,
    )


def recording_call_url(call: VoiceRecordingCall, step: str, **query: int) -> str:
    path = reverse("broadcasts:voice_record_step", args=[call.token, step])
    extra = "&".join(f"{name}={value}" for name, value in query.items())
    return settings.SITE_URL + path + (f"?{extra}" if extra else "")


def _place_staff_call(call: VoiceRecordingCall) -> None:
    """Ask Twilio to call staff (outside any transaction; the row records the intent first).
    Answering-machine detection keeps a voicemail greeting from being taken for a hello."""
    from broadcasts.providers.twilio import ProviderError

    seconds = (call.say_text and tts_seconds(call.say_text)) or settings.VOICE_MAX_RECORDING_SECONDS
    try:
        placed = sms_provider().call_create(
            to=call.to_e164,
            from_=call.from_e164,
            url=recording_call_url(call, "answer"),
            status_callback=recording_call_url(call, "status"),
            status_callback_event=["completed"],
            machine_detection="Enable",
            time_limit=seconds + CALL_OVERHEAD_SECONDS * 2,
        )
    except ProviderError as error:
        _call_move(call, CallStatus.FAILED, error_message=error.message[:300])
        _broadcast_cancel_unsent(call.broadcast_id)
        raise BroadcastRefused(
            f"Could not call {phone_display(call.to_e164)}: {error.message}"
        ) from None
    VoiceRecordingCall.objects.filter(pk=call.pk, sid=None).update(sid=placed.sid)


# --- the call's moves, as Twilio reports them --------------------------------------------------

_MOVES: dict[str, tuple[str, ...]] = {
    CallStatus.WAITING_FOR_HELLO: (CallStatus.CALLING,),
    CallStatus.RECORDING: (CallStatus.WAITING_FOR_HELLO, CallStatus.RECORDING, CallStatus.RECORDED),
    CallStatus.RECORDED: (CallStatus.RECORDING,),
    CallStatus.SENDING: (CallStatus.RECORDED,),
    CallStatus.PLAYING: (CallStatus.CALLING,),
    CallStatus.ENDED: (CallStatus.CALLING, CallStatus.PLAYING),
    CallStatus.CANCELLED: (
        CallStatus.CALLING,
        CallStatus.WAITING_FOR_HELLO,
        CallStatus.RECORDING,
        CallStatus.RECORDED,
    ),
    CallStatus.FAILED: (CallStatus.CALLING,),
}


def _call_move(call: VoiceRecordingCall, to: str, **fields) -> bool:
    """The one way a call changes status: a conditional update from the states that may move
    there, so replayed or crossing requests never move it twice or backwards."""
    moved = VoiceRecordingCall.objects.filter(pk=call.pk, status__in=_MOVES[to]).update(
        status=to, **fields
    )
    call.refresh_from_db()
    return bool(moved)


def recording_call_answered(*, call: VoiceRecordingCall, answered_by: str = "") -> str:
    """Twilio asks what to do now that staff picked up. Returns what to play: "prompt" (say
    hello), "preview", "machine" (a voicemail answered: hang up) or "over"."""
    now = timezone.now()
    if answered_by.startswith("machine") or answered_by == "fax":
        _call_move(
            call,
            CallStatus.FAILED,
            answered_by=answered_by,
            error_message="Voicemail answered: pick up the call yourself to record.",
        )
        _broadcast_cancel_unsent(call.broadcast_id)
        return "machine"
    target = CallStatus.PLAYING if call.purpose == call.Purpose.PREVIEW else None
    target = target or CallStatus.WAITING_FOR_HELLO
    if _call_move(call, target, answered_by=answered_by, answered_at=now):
        return "preview" if target == CallStatus.PLAYING else "prompt"
    if call.status in (CallStatus.WAITING_FOR_HELLO, CallStatus.PLAYING):
        return "preview" if call.status == CallStatus.PLAYING else "prompt"  # a replay
    return "over"


def recording_call_heard_hello(*, call: VoiceRecordingCall) -> bool:
    return _call_move(call, CallStatus.RECORDING)


def recording_call_recorded(
    *, call: VoiceRecordingCall, url: str, sid: str, seconds: int, hung_up: bool = False
) -> bool:
    """A recording came back (Record's action, or its status callback after a hang-up).
    Hanging up right after recording sends it, as the menu says."""
    if not url or seconds < 1:
        return False
    if sid and sid == call.recording_sid:
        return False  # the take being replaced (2 on the menu), reported late: nothing new
    moved = _call_move(
        call,
        CallStatus.RECORDED,
        recording_url=url,
        recording_sid=sid,
        recording_seconds=seconds,
    )
    if moved and (hung_up or call.ended_at):
        recording_call_accept(call=call)
    return moved


def recording_call_record_again(*, call: VoiceRecordingCall) -> bool:
    return _call_move(call, CallStatus.RECORDING)


def recording_call_accept(*, call: VoiceRecordingCall) -> bool:
    """3 on the menu, or hanging up after recording: it will be sent when the call ends."""
    moved = _call_move(call, CallStatus.SENDING)
    if call.ended_at:
        _dispatch_if_accepted(call)
    return moved


def recording_call_cancel(*, call: VoiceRecordingCall, hang_up: bool = False) -> bool:
    """* on the menu, or Cancel in the dialog: nothing is sent; the call is still paid for."""
    moved = _call_move(call, CallStatus.CANCELLED)
    if moved:
        _broadcast_cancel_unsent(call.broadcast_id)
    if moved and hang_up and call.sid and not call.ended_at:
        _hang_up(call)
    return moved


def _hang_up(call: VoiceRecordingCall) -> None:
    from broadcasts.providers.twilio import ProviderError

    try:
        sms_provider().call_update(sid=call.sid, status="completed")
    except ProviderError:
        logger.warning("could not hang up recording call %s", call.sid, exc_info=True)


def recording_absent(*, call: VoiceRecordingCall) -> bool:
    """Twilio says a Record ended with nothing recorded. Once the call is over, that is the
    end: a recording that never started is not sent."""
    if call.ended_at and call.status == CallStatus.RECORDING:
        return recording_call_cancel(call=call)
    return False


_NOT_REACHED = {
    "busy": "The line was busy.",
    "no-answer": "Nobody answered.",
    "failed": "The call could not be placed.",
    "canceled": "The call was cancelled.",
    "completed": "The call ended before it started.",
}


def recording_call_ended(
    *, call: VoiceRecordingCall, provider_status: str, seconds: int, answered_by: str = ""
) -> None:
    """The call is over (its final status callback): charge it once, then settle what it did."""
    _charge(call, provider_status=provider_status, seconds=seconds)
    call.refresh_from_db()
    if call.status == CallStatus.CALLING:
        if _call_move(
            call,
            CallStatus.FAILED,
            answered_by=answered_by,
            error_message=_NOT_REACHED.get(provider_status, "The call failed."),
        ):
            _broadcast_cancel_unsent(call.broadcast_id)
    elif call.status == CallStatus.WAITING_FOR_HELLO:
        recording_call_cancel(call=call)
    elif call.status == CallStatus.RECORDED:
        recording_call_accept(call=call)
    elif call.status == CallStatus.PLAYING:
        _call_move(call, CallStatus.ENDED)
    elif call.status == CallStatus.SENDING:
        _dispatch_if_accepted(call)
    # RECORDING: Record's action or its "absent" callback still comes and decides.


def _charge(call: VoiceRecordingCall, *, provider_status: str, seconds: int) -> None:
    cost = credits_for_seconds(seconds)
    with transaction.atomic():
        first = VoiceRecordingCall.objects.filter(pk=call.pk, charged_at=None).update(
            charged_at=timezone.now(),
            ended_at=timezone.now(),
            provider_status=provider_status[:12],
            call_seconds=max(seconds, 0),
            credits_charged=cost,
        )
        if not first or not cost:
            return
        memo = (
            f"Voice {call.get_purpose_display().lower()} call to {call.to_e164}, "
            f"{minutes_seconds(seconds)}"
        )
        actor = call.staff_member.user if call.staff_member else None
        try:
            credits_debit(
                organization=call.organization,
                credits=cost,
                reference=call.debit_reference,
                actor=actor,
                memo=memo,
            )
        except InsufficientCredits as short:
            # The call happened: take what there is and keep the rest as owed (never below 0).
            if short.available:
                credits_debit(
                    organization=call.organization,
                    credits=short.available,
                    reference=call.debit_reference,
                    actor=actor,
                    memo=memo + f" (part: {cost - short.available} owed)",
                )
            VoiceRecordingCall.objects.filter(pk=call.pk).update(
                credits_unpaid=cost - short.available
            )


def _dispatch_if_accepted(call: VoiceRecordingCall) -> None:
    """The call ended with an accepted recording: it becomes the broadcast's message, and the
    broadcast is sent (in a task: planning a large selection takes longer than Twilio waits)."""
    if call.status != CallStatus.SENDING or call.broadcast_id is None:
        return
    updated = VoiceMessage.objects.filter(
        broadcast_id=call.broadcast_id, broadcast__status=Broadcast.Status.RECORDING
    ).update(
        recording_url=call.recording_url,
        recording_sid=call.recording_sid,
        seconds=call.recording_seconds,
    )
    if updated:
        broadcast_id = call.broadcast_id
        transaction.on_commit(lambda: _enqueue_send(broadcast_id))


def _enqueue_send(broadcast_id: int) -> None:
    task("voice_broadcast_send").delay(broadcast_id)


def _broadcast_cancel_unsent(broadcast_id: int | None) -> None:
    if broadcast_id is None:
        return
    Broadcast.objects.filter(
        pk=broadcast_id, status__in=(Broadcast.Status.RECORDING, Broadcast.Status.WAITING)
    ).update(status=Broadcast.Status.CANCELLED, finished_at=timezone.now())


def voice_broadcast_cancel(*, broadcast: Broadcast) -> bool:
    """Cancel a voice broadcast that has not gone out (recording, or waiting for credits)."""
    call = broadcast.recording_calls.filter(purpose=VoiceRecordingCall.Purpose.RECORD).first()
    if call is not None and call.status not in (CallStatus.CANCELLED, CallStatus.FAILED):
        recording_call_cancel(call=call, hang_up=True)
    before = broadcast.status
    _broadcast_cancel_unsent(broadcast.pk)
    broadcast.refresh_from_db()
    return before != broadcast.status


# --- sending ----------------------------------------------------------------------------------


def voice_broadcast_send(*, broadcast_id: int, actor=None) -> Broadcast:
    """Send a recorded broadcast: recipients and their debit in one transaction, then dial.

    Runs when the recording call ends, and again when staff press Send now. Short of credits,
    the broadcast waits with the reason (recording kept); a second run of an already sent
    broadcast changes nothing (the row lock and the status say so)."""
    broadcast = Broadcast.objects.select_related("organization", "voice", "sender").get(
        pk=broadcast_id
    )
    if broadcast.status not in (Broadcast.Status.RECORDING, Broadcast.Status.WAITING):
        return broadcast
    organization = broadcast.organization
    refusal = voice_refusal(organization=organization)
    selection = Selection.from_dict(broadcast.selection)
    plan = recipients_plan(organization=organization, selection=selection, channel="voice")
    problems = [refusal] if refusal else _sending_problems(organization, plan)
    if problems:
        return _wait(broadcast, problems[0])
    try:
        with transaction.atomic():
            locked = (
                Broadcast.objects.select_for_update()
                .filter(
                    pk=broadcast.pk,
                    status__in=(Broadcast.Status.RECORDING, Broadcast.Status.WAITING),
                )
                .first()
            )
            if locked is not None:
                _write_recipients_and_debit(locked, broadcast.voice, plan, actor=actor)
                _collect_unpaid_calls(locked, actor=actor)
                VoiceMessage.objects.filter(pk=broadcast.voice.pk).update(waiting_reason="")
    except InsufficientCredits:
        return _wait(broadcast, _short_message(broadcast, plan))
    except IntegrityError as error:
        if not directory_changed(error):
            raise
        return _wait(broadcast, DIRECTORY_CHANGED)  # kept with its recording: Send now again
    broadcast.refresh_from_db()
    return broadcast


def tts_broadcast_create(
    *,
    organization: Organization,
    sender: StaffMember,
    selection: Selection,
    text: str,
    voice: str,
    language: str,
) -> Broadcast:
    """Create and send a text-to-speech broadcast; refused (nothing written) when anything is
    wrong or the credits are short, like a text message."""
    _refuse_unless_allowed(organization)
    text = tts_text_clean(text)
    tts_choice_check(voice=voice, language=language)
    seconds = tts_seconds(text)
    plan = recipients_plan(organization=organization, selection=selection, channel="voice")
    problems = _sending_problems(organization, plan)
    if problems:
        raise BroadcastRefused(problems[0])
    number = sending_number_active(organization=organization)
    try:
        with transaction.atomic():
            broadcast = Broadcast.objects.create(
                organization=organization,
                channel=Broadcast.Channel.VOICE,
                status=Broadcast.Status.QUEUED,
                selection_kind=selection.kind,
                selection=selection.to_dict(),
                text=text,
                sender=sender,
                sender_label=sender.full_name,
                from_e164=number.e164,
            )
            message = VoiceMessage.objects.create(
                broadcast=broadcast,
                source=VoiceMessage.Source.TTS,
                seconds=seconds,
                tts_voice=voice,
                tts_language=language,
            )
            _write_recipients_and_debit(broadcast, message, plan, actor=sender.user)
            voice_preference_remember(staff_member=sender, tts_voice=voice, tts_language=language)
    except InsufficientCredits as short:
        preview = VoicePreview(
            numbers=len(plan.recipients), seconds=seconds, credits_available=short.available
        )
        raise CreditsShort(_tts_short_message(short.needed, preview)) from None
    except IntegrityError as error:
        if not directory_changed(error):
            raise
        raise BroadcastRefused(DIRECTORY_CHANGED) from None
    broadcast.refresh_from_db()
    return broadcast


def _write_recipients_and_debit(
    broadcast: Broadcast, message: VoiceMessage, plan: RecipientPlan, *, actor
) -> None:
    """Inside the caller's transaction: recipient rows, the debit, queued, dispatch on commit."""
    per_number = credits_for_seconds(message.seconds)
    label = (
        f"Recording {minutes_seconds(message.seconds)}"
        if message.source == VoiceMessage.Source.RECORDING
        else broadcast.text
    )
    per_recipient = [per_number] * len(plan.recipients)
    recipients_insert(
        broadcast=broadcast,
        recipients=plan.recipients,
        texts=[label] * len(plan.recipients),
        parts=per_recipient,
        credits=per_recipient,
        excluded=plan.excluded,
    )
    needed = per_number * len(plan.recipients)
    credits_debit(
        organization=broadcast.organization,
        credits=needed,
        reference=broadcast.debit_reference,
        actor=actor,
        memo=f"Voice broadcast {broadcast.pk} to {numbers_words(len(plan.recipients))}, "
        f"{minutes_seconds(message.seconds)} each",
    )
    number = sending_number_active(organization=broadcast.organization)
    Broadcast.objects.filter(pk=broadcast.pk).update(
        status=Broadcast.Status.QUEUED,
        from_e164=number.e164,
        recipient_count=len(plan.recipients),
        excluded_count=len(plan.excluded),
        credits_debited=needed,
        max_parts=per_number,
    )
    broadcast_id = broadcast.pk
    transaction.on_commit(lambda: enqueue_dispatch(broadcast_id))


def _collect_unpaid_calls(broadcast: Broadcast, *, actor) -> None:
    for call in VoiceRecordingCall.objects.filter(broadcast=broadcast, credits_unpaid__gt=0):
        credits_debit(
            organization=broadcast.organization,
            credits=call.credits_unpaid,
            reference=call.debit_reference,
            actor=actor,
            memo=f"Owed for the recording call of voice broadcast {broadcast.pk}",
        )
        VoiceRecordingCall.objects.filter(pk=call.pk).update(credits_unpaid=0)


def _wait(broadcast: Broadcast, reason: str) -> Broadcast:
    Broadcast.objects.filter(
        pk=broadcast.pk, status__in=(Broadcast.Status.RECORDING, Broadcast.Status.WAITING)
    ).update(status=Broadcast.Status.WAITING)
    VoiceMessage.objects.filter(broadcast=broadcast).update(waiting_reason=reason[:300])
    broadcast.refresh_from_db()
    return broadcast


def _short_message(broadcast: Broadcast, plan: RecipientPlan) -> str:
    seconds = broadcast.voice.seconds
    per_number = credits_for_seconds(seconds)
    owed = sum(
        VoiceRecordingCall.objects.filter(broadcast=broadcast).values_list(
            "credits_unpaid", flat=True
        )
    )
    needed = per_number * len(plan.recipients) + owed
    available = credits_balance(organization=broadcast.organization)
    owed_text = f", plus {owed:,} owed for the call" if owed else ""
    return (
        f"Not sent yet: it needs {credits_words(needed)} "
        f"({numbers_words(len(plan.recipients))} × {per_number} for a "
        f"{minutes_seconds(seconds)} recording{owed_text}) but only "
        f"{available_words(available)}. The recording is kept: once credits are bought, "
        "press Send now."
    )


# --- the sweep's part: calls to staff whose end never arrived ------------------------------


def recording_calls_overdue(*, now):
    """Calls to staff not yet charged (their final status never came) after the longest they
    could last, and recordings whose call ended without word of the recording."""
    longest = timedelta(seconds=settings.VOICE_MAX_RECORDING_SECONDS + CALL_OVERHEAD_SECONDS * 3)
    unended = Q(charged_at=None, created_at__lt=now - longest)
    unheard = Q(status=CallStatus.RECORDING, ended_at__lt=now - timedelta(minutes=10))
    return VoiceRecordingCall.objects.filter(unended | unheard).select_related(
        "organization", "staff_member__user"
    )


def recording_call_check(*, call: VoiceRecordingCall) -> int:
    from broadcasts.providers.twilio import ProviderError

    if call.charged_at is not None:  # ended long ago, Record never reported: nothing to send
        return int(recording_call_cancel(call=call))
    if not call.sid:
        recording_call_ended(call=call, provider_status="failed", seconds=0)
        return 1
    try:
        info = sms_provider().call_fetch(sid=call.sid)
    except ProviderError:
        return 0
    if info.status not in ("completed", "busy", "no-answer", "failed", "canceled"):
        return 0
    recording_call_ended(
        call=call,
        provider_status=info.status,
        seconds=info.duration or 0,
        answered_by=info.answered_by or "",
    )
    return 1
