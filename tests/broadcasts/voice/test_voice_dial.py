"""Dialing recipients: voicemail detection, what they hear, retries of busy and unanswered
numbers, refunds of calls that fail outright, one audit entry per answered call, the sweep."""

from datetime import timedelta
from itertools import pairwise

import pytest
from django.utils import timezone

from broadcasts.engine.sweep import broadcasts_sweep
from broadcasts.models import (
    AuditLogEntry,
    Broadcast,
    Recipient,
    VoiceCall,
    VoiceMessage,
)
from broadcasts.voice import dial as voice_dial
from broadcasts.voice import recording as voice
from tests.broadcasts.sms_helpers import balance, families_selection, family_with_number
from tests.broadcasts.voice.conftest import said, verbs

pytestmark = pytest.mark.django_db
Status = Recipient.Status
RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE42"


def recorded(org, sender, twilio, *families, seconds=42):
    """A broadcast whose recording was accepted, sent the way the end of the call sends it."""
    broadcast = Broadcast.objects.create(
        organization=org,
        channel=Broadcast.Channel.VOICE,
        status=Broadcast.Status.RECORDING,
        selection_kind="families",
        selection=families_selection(*families).to_dict(),
        sender=sender,
        sender_label=sender.full_name,
        from_e164="+14155550100",
    )
    VoiceMessage.objects.create(
        broadcast=broadcast,
        source=VoiceMessage.Source.RECORDING,
        recording_url=RECORDING,
        recording_sid="RE42",
        seconds=seconds,
    )
    with twilio.capture(execute=True):
        return voice.voice_broadcast_send(broadcast_id=broadcast.pk)


def calls_to(phone, e164):
    return sorted((c for c in phone.calls.values() if c.to == e164), key=lambda c: c.created_at)


def end(twilio, call, status, answered_by="", seconds=0):
    params = {"CallSid": call.sid, "CallStatus": status, "CallDuration": str(seconds)}
    if answered_by:
        params["AnsweredBy"] = answered_by
    assert twilio.post(call.status_callback, params).status_code == 204


def wait_until(predicate, timeout=10.0):
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def number_of(family):
    return family.phone_numbers.get().e164


def test_calls_wait_for_the_end_of_a_voicemail_greeting_and_report_their_status(
    org, sender, ready, phone, twilio
):
    ready()
    family = family_with_number(org)
    recorded(org, sender, twilio, family)
    (call,) = calls_to(phone, number_of(family))
    assert call.from_ == "+14155550100"
    assert call.machine_detection == "DetectMessageEnd"
    assert call.params["TimeLimit"] == str(42 * 2 + 180)
    request = next(r for r in phone.requests if r.path.endswith("/Calls.json"))
    assert set(request.form_lists["StatusCallbackEvent"]) == {"answered", "completed"}
    assert call.url.endswith("/answer/") and call.status_callback.endswith("/status/")


def test_a_person_hears_the_recording_and_how_to_stop_these_calls(
    org, sender, ready, phone, twilio
):
    ready()
    family = family_with_number(org)
    recorded(org, sender, twilio, family)
    (call,) = calls_to(phone, number_of(family))
    root = twilio.twiml(call.url, {"CallSid": call.sid, "AnsweredBy": "human"})
    # The message with its prompt, then a few seconds of listening for "stop calling".
    assert verbs(root) == ["Gather", "Gather", "Hangup"]
    gather = root.find("Gather")
    assert gather.get("input") == "dtmf" and gather.get("numDigits") == "1"
    assert verbs(gather) == ["Play", "Say"]
    assert gather.find("Play").text == RECORDING
    assert "press 9" in said(gather) and org.name in said(gather)


def test_a_voicemail_gets_the_message_after_its_greeting_and_no_menu(
    org, sender, ready, phone, twilio
):
    ready()
    family = family_with_number(org)
    recorded(org, sender, twilio, family)
    (call,) = calls_to(phone, number_of(family))
    root = twilio.twiml(call.url, {"CallSid": call.sid, "AnsweredBy": "machine_end_beep"})
    assert verbs(root) == ["Play", "Hangup"]
    assert verbs(twilio.twiml(call.url, {"CallSid": call.sid, "AnsweredBy": "fax"})) == ["Hangup"]


def test_text_to_speech_is_spoken_in_the_chosen_voice_and_language(
    org, sender, ready, phone, twilio
):
    ready()
    family = family_with_number(org)
    with twilio.capture(execute=True):
        voice.tts_broadcast_create(
            organization=org,
            sender=sender,
            selection=families_selection(family),
            text="Las clases de hoy se cancelan por la nieve.",
            voice="Polly.Lupe",
            language="es-US",
        )
    (call,) = calls_to(phone, number_of(family))
    gather = twilio.twiml(call.url, {"CallSid": call.sid, "AnsweredBy": "human"}).find("Gather")
    message, prompt = gather.findall("Say")
    assert message.text == "Las clases de hoy se cancelan por la nieve."
    assert (message.get("voice"), message.get("language")) == ("Polly.Lupe", "es-US")
    assert "oprima 9" in prompt.text and prompt.get("voice") == "Polly.Lupe"


def test_an_answered_call_is_delivered_with_one_audit_entry(org, sender, ready, phone, twilio):
    ready(credits=50)
    family = family_with_number(org)
    broadcast = recorded(org, sender, twilio, family, seconds=59)
    (call,) = calls_to(phone, number_of(family))
    end(twilio, call, "completed", answered_by="machine_end_beep", seconds=70)
    end(twilio, call, "completed", answered_by="machine_end_beep", seconds=70)  # a replay
    recipient = Recipient.objects.get(broadcast=broadcast, status=Status.DELIVERED)
    assert recipient.provider_sid == call.sid
    entry = AuditLogEntry.objects.get(broadcast=broadcast)
    assert (entry.e164, entry.channel, entry.text) == (number_of(family), "voice", "Recording 0:59")
    assert entry.credits == 1 and entry.sender == sender and entry.family == family
    voice_call = VoiceCall.objects.get(recipient=recipient)
    assert (voice_call.answered_by, voice_call.duration) == ("machine_end_beep", 70)
    assert balance(org) == 49
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DONE


def test_busy_is_dialed_again_and_an_answer_then_charges_once(org, sender, ready, phone, twilio):
    ready(credits=50)
    family = family_with_number(org)
    broadcast = recorded(org, sender, twilio, family, seconds=61)
    for attempt in range(2):
        end(twilio, calls_to(phone, number_of(family))[attempt], "busy")
    calls = calls_to(phone, number_of(family))
    assert len(calls) == 3
    end(twilio, calls[2], "completed", answered_by="human", seconds=80)
    recipient = Recipient.objects.get(broadcast=broadcast, e164=number_of(family))
    assert recipient.status == Status.DELIVERED
    assert AuditLogEntry.objects.filter(broadcast=broadcast).count() == 1
    assert balance(org) == 50 - 2  # 1:01 is two minutes, once, however many calls


@pytest.mark.parametrize("outcome", ["busy", "no-answer"])
def test_still_unanswered_after_every_retry_is_charged_as_dialed(
    org, sender, ready, phone, twilio, outcome
):
    ready(credits=50)
    family = family_with_number(org)
    broadcast = recorded(org, sender, twilio, family)
    for attempt in range(3):
        end(twilio, calls_to(phone, number_of(family))[attempt], outcome)
    assert len(calls_to(phone, number_of(family))) == 3  # the first call and 2 retries
    recipient = Recipient.objects.get(broadcast=broadcast, e164=number_of(family))
    assert recipient.status == Status.UNANSWERED
    assert "after 3 calls" in recipient.error_message
    assert not AuditLogEntry.objects.filter(broadcast=broadcast).exists()
    assert balance(org) == 49  # not refunded
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DONE


def test_the_number_of_retries_is_a_setting(org, sender, ready, phone, twilio, settings):
    settings.VOICE_MAX_RETRIES = 0
    ready()
    family = family_with_number(org)
    broadcast = recorded(org, sender, twilio, family)
    end(twilio, calls_to(phone, number_of(family))[0], "no-answer")
    assert len(calls_to(phone, number_of(family))) == 1
    assert Recipient.objects.get(broadcast=broadcast, e164=number_of(family)).status == (
        Status.UNANSWERED
    )


def test_a_call_that_fails_outright_is_refunded(org, sender, ready, phone, twilio):
    ready(credits=50)
    reachable, broken = family_with_number(org), family_with_number(org)
    broadcast = recorded(org, sender, twilio, reachable, broken, seconds=125)  # 3 each
    assert balance(org) == 44
    end(twilio, calls_to(phone, number_of(broken))[0], "failed")
    recipient = Recipient.objects.get(broadcast=broadcast, e164=number_of(broken))
    assert recipient.status == Status.FAILED
    assert balance(org) == 47
    assert len(calls_to(phone, number_of(broken))) == 1  # failed is not retried


def test_an_invalid_number_refused_by_twilio_is_refunded_and_never_retried(
    org, sender, ready, phone, twilio
):
    ready(credits=20)
    family = family_with_number(org)
    phone.error_for_number(number_of(family), 21217)
    broadcast = recorded(org, sender, twilio, family)
    recipient = Recipient.objects.get(broadcast=broadcast, e164=number_of(family))
    assert recipient.status == Status.FAILED and recipient.error_code == "21217"
    assert balance(org) == 20
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DONE


def test_a_rate_limited_call_is_tried_again(org, sender, ready, phone, twilio):
    ready()
    family = family_with_number(org)
    phone.fail_next(status=429, count=1)
    broadcast = recorded(org, sender, twilio, family)
    assert len(calls_to(phone, number_of(family))) == 1
    recipient = Recipient.objects.get(broadcast=broadcast, e164=number_of(family))
    assert recipient.status == Status.SENDING and recipient.attempts == 0  # 429: no attempt
    assert VoiceCall.objects.filter(recipient=recipient, status="failed").count() == 1


def test_an_ambiguous_error_never_dials_blindly_and_its_callbacks_still_land(
    org, sender, ready, phone, twilio
):
    ready()
    family = family_with_number(org)
    phone.fail_next(status=503, count=2)  # maybe placed, maybe not; and no answer to a look-up
    broadcast = recorded(org, sender, twilio, family)
    recipient = Recipient.objects.get(broadcast=broadcast, e164=number_of(family))
    assert recipient.status == Status.SENDING
    voice_call = VoiceCall.objects.get(recipient=recipient)
    assert voice_call.sid is None and not calls_to(phone, number_of(family))
    # It had been placed after all: its callback names our call, and settles it.
    status_url = voice_dial.dial_url(voice_call, "status")
    params = {"CallSid": "CAlate", "CallStatus": "completed", "AnsweredBy": "human"}
    assert twilio.post(status_url, params).status_code == 204
    recipient.refresh_from_db()
    assert recipient.status == Status.DELIVERED and recipient.provider_sid == "CAlate"


def test_a_call_twilio_never_confirmed_is_looked_for_then_dialed_again(
    org, sender, ready, phone, twilio
):
    ready()
    family = family_with_number(org)
    phone.fail_next(status=503, count=1)
    broadcast = recorded(org, sender, twilio, family)
    lookups = [r for r in phone.requests if r.method == "GET" and r.path.endswith("/Calls.json")]
    assert len(lookups) == 1, "Twilio was asked for the call before it was dialed again"
    assert len(calls_to(phone, number_of(family))) == 1
    recipient = Recipient.objects.get(broadcast=broadcast, e164=number_of(family))
    assert recipient.status == Status.SENDING and recipient.provider_sid
    assert recipient.attempts == 0, "a 503 is Twilio's trouble, not the number's"


def test_the_sweep_finds_a_call_whose_create_timed_out_instead_of_dialing_again(
    org, sender, ready, phone, twilio
):
    ready()
    family = family_with_number(org)
    phone.fail_next(status=503, count=2)  # the create, then the look-up: no answer
    broadcast = recorded(org, sender, twilio, family)
    recipient = Recipient.objects.get(broadcast=broadcast, e164=number_of(family))
    call = VoiceCall.objects.get(recipient=recipient)
    # It had been placed after all (Twilio has it), its callbacks were lost, the lease expired.
    placed = phone.place_call(to=number_of(family), from_="+14155550100")
    Recipient.objects.filter(pk=recipient.pk).update(
        lease_expires_at=timezone.now() - timedelta(minutes=1)
    )
    with twilio.capture(execute=True):
        counts = broadcasts_sweep()
    assert counts["reconciled_found"] == 1
    assert len(calls_to(phone, number_of(family))) == 1, "never dialed twice"
    call.refresh_from_db()
    assert call.sid == placed


def test_the_sweep_asks_twilio_how_a_call_ended_when_its_callback_was_lost(
    org, sender, ready, phone, twilio
):
    ready()
    family = family_with_number(org)
    phone.call_as(number_of(family), final_status="completed", answered_by="human", duration=33)
    broadcast = recorded(org, sender, twilio, family)
    (placed,) = calls_to(phone, number_of(family))
    wait_until(lambda: phone.calls[placed.sid].status == "completed")
    VoiceCall.objects.update(created_at=timezone.now() - timedelta(minutes=20))
    with twilio.capture(execute=True):
        assert voice_dial.voice_sweep()["calls"] == 1
    recipient = Recipient.objects.get(broadcast=broadcast, e164=number_of(family))
    assert recipient.status == Status.DELIVERED
    assert VoiceCall.objects.get(recipient=recipient).duration == 33


def test_the_sms_sweep_hands_a_crashed_voice_claim_back_to_the_dialer(
    org, sender, ready, phone, twilio
):
    ready()
    family = family_with_number(org)
    broadcast = recorded(org, sender, twilio, family)
    recipient = Recipient.objects.get(broadcast=broadcast, e164=number_of(family))
    # As if a worker claimed it again and died before writing its call.
    VoiceCall.objects.filter(recipient=recipient).update(
        created_at=timezone.now() - timedelta(minutes=30)
    )
    Recipient.objects.filter(pk=recipient.pk).update(
        claimed_at=timezone.now() - timedelta(minutes=10),
        lease_expires_at=timezone.now() - timedelta(minutes=9),
    )
    with twilio.capture(execute=True):
        counts = broadcasts_sweep()
    assert counts["reconciled_requeued"] == 1
    assert len(calls_to(phone, number_of(family))) == 2


def test_calls_are_paced_at_the_numbers_calls_per_second(org, sender, ready, phone, twilio):
    number = ready()
    number.calls_per_second = 3
    number.save()
    recorded(org, sender, twilio, *[family_with_number(org) for _ in range(7)])
    starts = sorted(
        r.monotonic for r in phone.requests if r.method == "POST" and r.path.endswith("Calls.json")
    )
    assert len(starts) == 7
    assert min(b - a for a, b in pairwise(starts)) >= 1 / 3 - 0.02


def test_a_call_still_under_way_when_its_lease_expires_is_looked_at_again_later(
    org, sender, ready, phone, twilio
):
    ready()
    family = family_with_number(org)
    phone.callback_delay = 600  # the call rings on and on
    broadcast = recorded(org, sender, twilio, family)
    recipient = Recipient.objects.get(broadcast=broadcast, e164=number_of(family))
    Recipient.objects.filter(pk=recipient.pk).update(
        lease_expires_at=timezone.now() - timedelta(minutes=1)
    )
    with twilio.capture(execute=True):
        counts = broadcasts_sweep()
    assert counts["reconciled_checked"] == 0
    recipient.refresh_from_db()
    assert recipient.status == Status.SENDING
    assert recipient.lease_expires_at > timezone.now() + timedelta(minutes=4)
    assert len(calls_to(phone, number_of(family))) == 1
