"""Per-minute credits: one pure function, and the charges built on it at the minute edges."""

import pytest

from broadcasts.voice import recording as voice
from tests.broadcasts.sms_helpers import balance, families_selection, family_with_number


@pytest.mark.parametrize(
    ("seconds", "credits"),
    [(0, 0), (1, 1), (59, 1), (60, 1), (61, 2), (119, 2), (120, 2), (121, 3), (300, 5)],
)
def test_one_credit_per_started_minute(seconds, credits):
    assert voice.credits_for_seconds(seconds) == credits


@pytest.mark.parametrize(("words", "seconds"), [(0, 0), (1, 1), (150, 60), (151, 61), (300, 120)])
def test_text_to_speech_is_estimated_at_150_words_a_minute(words, seconds):
    assert voice.tts_seconds(" ".join(["word"] * words)) == seconds


@pytest.mark.django_db
@pytest.mark.parametrize(("call_seconds", "charged"), [(59, 1), (60, 1), (61, 2)])
def test_the_call_to_staff_is_charged_by_its_started_minutes(
    org, sender, ready, phone, twilio, call_seconds, charged
):
    ready(credits=100)
    call = voice.recording_call_start(
        organization=org,
        sender=sender,
        selection=families_selection(family_with_number(org)),
        callback_number="+12025550199",
    )
    (placed,) = phone.calls.values()
    twilio.post(
        placed.status_callback,
        {"CallSid": placed.sid, "CallStatus": "completed", "CallDuration": str(call_seconds)},
    )
    call.refresh_from_db()
    assert call.credits_charged == charged
    assert balance(org) == 100 - charged


@pytest.mark.django_db
@pytest.mark.parametrize(("recording", "per_number"), [(59, 1), (60, 1), (61, 2)])
def test_each_number_costs_the_started_minutes_of_the_recording(
    org, sender, ready, phone, twilio, recording, per_number
):
    from tests.broadcasts.voice.test_voice_dial import recorded

    ready(credits=100)
    families = [family_with_number(org) for _ in range(3)]
    broadcast = recorded(org, sender, twilio, *families, seconds=recording)
    assert broadcast.credits_debited == 3 * per_number
    assert balance(org) == 100 - 3 * per_number


@pytest.mark.django_db
def test_the_estimate_is_credits_per_minute_of_message(org, ready):
    ready(credits=25)
    families = [family_with_number(org, opted_in=False) for _ in range(4)]
    preview = voice.voice_preview(organization=org, selection=families_selection(*families))
    assert (preview.numbers, preview.credits_per_minute, preview.affordable_minutes) == (4, 4, 6)
    assert not preview.short and not preview.problems
    spoken = voice.voice_preview(
        organization=org, selection=families_selection(*families), seconds=200
    )
    assert spoken.credits_needed == 16
