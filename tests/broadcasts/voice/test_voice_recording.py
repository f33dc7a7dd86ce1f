"""Record by phone: the system calls staff, who say hello, record, listen, and hang up to send.
Every step is Twilio asking our signed webhooks for TwiML, played here as Twilio would."""

import pytest

from broadcasts.models import AuditLogEntry, Broadcast, Recipient, VoiceRecordingCall
from broadcasts.voice import recording as voice
from credits.models import LedgerEntry
from tests.broadcasts.sms_helpers import balance, families_selection, family_with_number
from tests.broadcasts.voice.conftest import said, verbs

pytestmark = pytest.mark.django_db
Status = VoiceRecordingCall.Status


def start(org, sender, *families, number="(202) 555-0199"):
    return voice.recording_call_start(
        organization=org,
        sender=sender,
        selection=families_selection(*families),
        callback_number=number,
    )


def placed_call(phone, to):
    calls = [c for c in phone.calls.values() if c.to == to]
    assert len(calls) == 1, calls
    return calls[0]


def answer(twilio, call, answered_by="human"):
    return twilio.twiml(
        call.url, {"CallSid": call.sid, "CallStatus": "in-progress", "AnsweredBy": answered_by}
    )


def say_hello(twilio, root):
    gather = root.find("Gather")
    return twilio.twiml(gather.get("action"), {"SpeechResult": "Hello?", "Confidence": "0.91"})


def record(twilio, root, seconds=42, sid="RE0001", digits="#"):
    action = root.find("Record").get("action")
    params = {
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/{sid}",
        "RecordingSid": sid,
        "RecordingDuration": str(seconds),
        "Digits": digits,
    }
    return twilio.twiml(action, params)


def press(twilio, root, digit):
    return twilio.twiml(root.find("Gather").get("action"), {"Digits": digit})


def hang_up(twilio, call, seconds, status="completed"):
    params = {"CallSid": call.sid, "CallStatus": status, "CallDuration": str(seconds)}
    response = twilio.post(call.status_callback, params)
    assert response.status_code == 204


def test_the_whole_record_by_phone_flow_dials_every_number_with_the_recording(
    org, sender, ready, phone, twilio
):
    ready(credits=100)
    # Voice needs no text opt-in: numbers that never opted in are called too.
    families = [family_with_number(org, opted_in=False) for _ in range(3)]
    call = start(org, sender, *families)
    assert call.status == Status.CALLING and call.broadcast.status == Broadcast.Status.RECORDING

    staff_call = placed_call(phone, "+12025550199")
    assert staff_call.from_ == "+14155550100"
    assert staff_call.machine_detection == "Enable"  # a voicemail greeting is not a hello
    assert staff_call.status_callback.endswith("/status/")

    root = answer(twilio, staff_call)
    assert verbs(root) == ["Gather", "Redirect"]
    gather = root.find("Gather")
    assert gather.get("input") == "speech dtmf" and gather.get("numDigits") == "1"
    assert gather.get("speechTimeout") == "auto"
    assert "say hello" in said(gather)
    call.refresh_from_db()
    assert call.status == Status.WAITING_FOR_HELLO

    root = say_hello(twilio, root)
    assert verbs(root) == ["Say", "Record", "Redirect"]
    rec = root.find("Record")
    assert rec.get("maxLength") == "300" and rec.get("finishOnKey") == "#"
    assert rec.get("playBeep") == "true"
    assert rec.get("recordingStatusCallbackEvent") == "completed absent"
    call.refresh_from_db()
    assert call.status == Status.RECORDING

    root = record(twilio, root, seconds=42)
    call.refresh_from_db()
    assert (call.status, call.recording_seconds) == (Status.RECORDED, 42)
    menu = said(root)
    assert "press 1" in menu and "press 2" in menu and "press 3, or hang up" in menu
    assert "press star" in menu

    root = press(twilio, root, "1")
    assert root.find("Play").text == call.recording_url
    assert root.find("Gather") is not None  # and the menu again

    root = press(twilio, root, "3")
    assert verbs(root)[-1] == "Hangup"
    call.refresh_from_db()
    assert call.status == Status.SENDING
    assert not Recipient.objects.filter(broadcast=call.broadcast).exists(), "not before the end"

    hang_up(twilio, staff_call, seconds=75)

    broadcast = Broadcast.objects.get(pk=call.broadcast_id)
    assert broadcast.status == Broadcast.Status.SENDING
    assert broadcast.voice.seconds == 42 and broadcast.voice.recording_sid == "RE0001"
    numbers = {f.phone_numbers.get().e164 for f in families}
    dialed = {c.to for c in phone.calls.values()} - {"+12025550199"}
    assert dialed == numbers
    # 2 credits for the 1:15 call to staff, 1 per number for a 0:42 recording.
    assert balance(org) == 100 - 2 - 3
    call.refresh_from_db()
    assert (call.call_seconds, call.credits_charged) == (75, 2)

    for placed in [c for c in phone.calls.values() if c.to in numbers]:
        twiml = twilio.twiml(placed.url, {"CallSid": placed.sid, "AnsweredBy": "human"})
        assert twiml.find("Gather").find("Play").text == call.recording_url
        done = {"CallSid": placed.sid, "CallStatus": "completed", "CallDuration": "50"}
        twilio.post(placed.status_callback, {**done, "AnsweredBy": "human"})
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DONE
    entries = AuditLogEntry.objects.filter(broadcast=broadcast)
    assert entries.count() == 3
    assert {e.text for e in entries} == {"Recording 0:42"} and {e.channel for e in entries} == {
        "voice"
    }


def test_a_key_press_is_a_hello_too_and_silence_asks_again(org, sender, ready, phone, twilio):
    ready()
    call = start(org, sender, family_with_number(org))
    staff_call = placed_call(phone, "+12025550199")
    root = answer(twilio, staff_call)
    again = twilio.twiml(root.find("Redirect").text)  # the Gather timed out: no speech, no key
    assert "say hello" in said(again)
    call.refresh_from_db()
    assert call.status == Status.WAITING_FOR_HELLO

    root = twilio.twiml(again.find("Gather").get("action"), {"Digits": "5"})
    assert "Record" in verbs(root)
    call.refresh_from_db()
    assert call.status == Status.RECORDING


def test_two_records_again_and_the_new_recording_is_the_one_sent(org, sender, ready, phone, twilio):
    ready()
    call = start(org, sender, family_with_number(org))
    staff_call = placed_call(phone, "+12025550199")
    root = record(twilio, say_hello(twilio, answer(twilio, staff_call)), seconds=10, sid="REold")
    root = press(twilio, root, "2")
    assert "Record" in verbs(root)
    call.refresh_from_db()
    assert call.status == Status.RECORDING
    root = record(twilio, root, seconds=61, sid="REnew")
    hang_up(twilio, staff_call, seconds=130)  # hanging up at the menu sends it

    broadcast = Broadcast.objects.get(pk=call.broadcast_id)
    assert broadcast.voice.recording_sid == "REnew" and broadcast.voice.seconds == 61
    assert broadcast.status == Broadcast.Status.SENDING
    assert Recipient.objects.get(broadcast=broadcast, status="sending").credits == 2  # 1:01


def test_a_late_report_of_the_replaced_take_does_not_come_back(org, sender, ready, phone, twilio):
    ready()
    call = start(org, sender, family_with_number(org))
    staff_call = placed_call(phone, "+12025550199")
    first = say_hello(twilio, answer(twilio, staff_call))
    root = press(twilio, record(twilio, first, seconds=10, sid="REold"), "2")
    twilio.post(  # Twilio's recording callback for the first take arrives only now
        first.find("Record").get("recordingStatusCallback"),
        {
            "RecordingStatus": "completed",
            "RecordingUrl": "https://api.twilio.com/r/REold",
            "RecordingSid": "REold",
            "RecordingDuration": "10",
        },
    )
    call.refresh_from_db()
    assert call.status == Status.RECORDING
    record(twilio, root, seconds=20, sid="REnew")
    call.refresh_from_db()
    assert (call.status, call.recording_sid) == (Status.RECORDED, "REnew")


def test_hanging_up_while_recording_sends_what_was_recorded(org, sender, ready, phone, twilio):
    ready()
    call = start(org, sender, family_with_number(org))
    staff_call = placed_call(phone, "+12025550199")
    root = say_hello(twilio, answer(twilio, staff_call))
    # Twilio posts Record's action with Digits=hangup; the answer is ignored.
    response = twilio.post(
        root.find("Record").get("action"),
        {
            "RecordingUrl": "https://api.twilio.com/r/RE9",
            "RecordingSid": "RE9",
            "RecordingDuration": "30",
            "Digits": "hangup",
        },
    )
    assert response.status_code == 200
    hang_up(twilio, staff_call, seconds=45)
    broadcast = Broadcast.objects.get(pk=call.broadcast_id)
    assert broadcast.status == Broadcast.Status.SENDING
    assert broadcast.voice.seconds == 30


def test_the_call_may_end_before_the_recording_arrives(org, sender, ready, phone, twilio):
    ready()
    call = start(org, sender, family_with_number(org))
    staff_call = placed_call(phone, "+12025550199")
    root = say_hello(twilio, answer(twilio, staff_call))
    hang_up(twilio, staff_call, seconds=40)
    call.refresh_from_db()
    assert call.status == Status.RECORDING and call.broadcast.status == "recording"

    recording_callback = root.find("Record").get("recordingStatusCallback")
    twilio.post(
        recording_callback,
        {
            "RecordingStatus": "completed",
            "RecordingUrl": "https://api.twilio.com/r/RE7",
            "RecordingSid": "RE7",
            "RecordingDuration": "25",
        },
    )
    call.refresh_from_db()
    assert call.status == Status.SENDING
    assert Broadcast.objects.get(pk=call.broadcast_id).status == Broadcast.Status.SENDING


def test_nothing_recorded_before_hanging_up_sends_nothing(org, sender, ready, phone, twilio):
    ready(credits=50)
    call = start(org, sender, family_with_number(org))
    staff_call = placed_call(phone, "+12025550199")
    root = say_hello(twilio, answer(twilio, staff_call))
    hang_up(twilio, staff_call, seconds=20)
    twilio.post(root.find("Record").get("recordingStatusCallback"), {"RecordingStatus": "absent"})
    call.refresh_from_db()
    assert call.status == Status.CANCELLED
    assert Broadcast.objects.get(pk=call.broadcast_id).status == Broadcast.Status.CANCELLED
    assert balance(org) == 49  # the call is still paid for


def test_star_cancels_and_the_call_is_still_paid_for(org, sender, ready, phone, twilio):
    ready(credits=50)
    call = start(org, sender, family_with_number(org))
    staff_call = placed_call(phone, "+12025550199")
    root = record(twilio, say_hello(twilio, answer(twilio, staff_call)))
    root = press(twilio, root, "*")
    assert "Nothing will be sent" in said(root) and verbs(root)[-1] == "Hangup"
    hang_up(twilio, staff_call, seconds=61)

    call.refresh_from_db()
    assert call.status == Status.CANCELLED and call.credits_charged == 2
    assert Broadcast.objects.get(pk=call.broadcast_id).status == Broadcast.Status.CANCELLED
    assert not Recipient.objects.filter(broadcast_id=call.broadcast_id).exists()
    assert {c.to for c in phone.calls.values()} == {"+12025550199"}
    assert balance(org) == 48


def test_hanging_up_before_hello_cancels(org, sender, ready, phone, twilio):
    ready()
    call = start(org, sender, family_with_number(org))
    staff_call = placed_call(phone, "+12025550199")
    answer(twilio, staff_call)
    hang_up(twilio, staff_call, seconds=8)
    call.refresh_from_db()
    assert call.status == Status.CANCELLED
    assert call.broadcast.status == Broadcast.Status.CANCELLED


def test_a_voicemail_answering_the_staff_call_is_hung_up_on(org, sender, ready, phone, twilio):
    ready()
    call = start(org, sender, family_with_number(org))
    root = answer(twilio, placed_call(phone, "+12025550199"), answered_by="machine_start")
    assert verbs(root) == ["Hangup"]
    call.refresh_from_db()
    assert call.status == Status.FAILED and "Voicemail" in call.error_message
    assert call.broadcast.status == Broadcast.Status.CANCELLED


@pytest.mark.parametrize("status", ["busy", "no-answer", "failed"])
def test_an_unanswered_staff_call_fails_and_costs_nothing(
    org, sender, ready, phone, twilio, status
):
    ready(credits=30)
    call = start(org, sender, family_with_number(org))
    hang_up(twilio, placed_call(phone, "+12025550199"), seconds=0, status=status)
    call.refresh_from_db()
    assert call.status == Status.FAILED and call.credits_charged == 0
    assert balance(org) == 30


def test_a_replayed_end_of_call_charges_once_and_sends_once(org, sender, ready, phone, twilio):
    ready(credits=100)
    call = start(org, sender, family_with_number(org), family_with_number(org))
    staff_call = placed_call(phone, "+12025550199")
    record(twilio, say_hello(twilio, answer(twilio, staff_call)), seconds=42)
    hang_up(twilio, staff_call, seconds=75)
    hang_up(twilio, staff_call, seconds=75)
    assert balance(org) == 100 - 2 - 2
    assert Recipient.objects.filter(broadcast_id=call.broadcast_id).count() == 2
    assert len(phone.calls) == 3


def test_short_of_credits_after_recording_it_waits_with_the_recording_kept_then_sends(
    org, sender, ready, phone, twilio
):
    from credits.services import credits_adjust

    ready(credits=10)
    families = [family_with_number(org) for _ in range(5)]
    call = start(org, sender, *families)
    staff_call = placed_call(phone, "+12025550199")
    record(twilio, say_hello(twilio, answer(twilio, staff_call)), seconds=90, sid="REkeep")
    hang_up(twilio, staff_call, seconds=150)  # 3 credits; 5 numbers × 2 = 10 needed, 7 left

    broadcast = Broadcast.objects.get(pk=call.broadcast_id)
    assert broadcast.status == Broadcast.Status.WAITING
    assert "needs 10 credits" in broadcast.voice.waiting_reason
    assert "only 7 are available" in broadcast.voice.waiting_reason
    assert broadcast.voice.recording_sid == "REkeep"
    assert not Recipient.objects.filter(broadcast=broadcast).exists()
    assert balance(org) == 7

    credits_adjust(organization=org, credits=20, memo="bought")
    with twilio.capture(execute=True):
        voice.voice_broadcast_send(broadcast_id=broadcast.pk)
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.SENDING and broadcast.credits_debited == 10
    assert balance(org) == 17
    assert len(phone.calls) == 6


def test_a_call_the_balance_cannot_cover_is_owed_and_collected_before_sending(
    org, sender, ready, phone, twilio
):
    from credits.services import credits_adjust

    ready(credits=10)
    call = start(org, sender, family_with_number(org))
    credits_adjust(organization=org, credits=-9, memo="spent elsewhere meanwhile")
    staff_call = placed_call(phone, "+12025550199")
    record(twilio, say_hello(twilio, answer(twilio, staff_call)), seconds=30)
    hang_up(twilio, staff_call, seconds=170)  # 3 credits, only 1 left

    call.refresh_from_db()
    assert (call.credits_charged, call.credits_unpaid) == (3, 2)
    assert balance(org) == 0
    broadcast = Broadcast.objects.get(pk=call.broadcast_id)
    assert broadcast.status == Broadcast.Status.WAITING
    assert "plus 2 owed for the call" in broadcast.voice.waiting_reason

    credits_adjust(organization=org, credits=5, memo="bought")
    with twilio.capture(execute=True):
        voice.voice_broadcast_send(broadcast_id=broadcast.pk)
    call.refresh_from_db()
    assert call.credits_unpaid == 0
    assert balance(org) == 5 - 2 - 1
    debits = LedgerEntry.objects.filter(organization=org, reference=call.debit_reference)
    assert sum(-e.credits for e in debits) == 3


def test_the_call_needs_credits_for_a_full_length_recording_first(org, sender, ready, phone):
    ready(credits=5)  # 5:00 + prompts = 7 credits at most
    with pytest.raises(voice.BroadcastRefused, match="up to 7 credits"):
        start(org, sender, family_with_number(org))
    assert not phone.calls and not Broadcast.objects.exists()


def test_a_bad_call_back_number_is_refused_before_calling(org, sender, ready, phone):
    ready()
    with pytest.raises(voice.BroadcastRefused, match="not a US or Canadian number"):
        start(org, sender, family_with_number(org), number="+44 20 7946 0000")
    assert not phone.calls


def test_a_canadian_call_back_number_is_fine_for_a_us_organization(org, sender, ready, phone):
    ready()
    call = start(org, sender, family_with_number(org), number="+1 416 555 0142")
    assert call.to_e164 == "+14165550142"
    assert sender.voice_preference.callback_e164 == "+14165550142"


def test_forged_recording_webhooks_are_refused(org, sender, ready, phone, twilio):
    ready()
    call = start(org, sender, family_with_number(org))
    staff_call = placed_call(phone, "+12025550199")
    forged = twilio.post(staff_call.url, {"AnsweredBy": "human"}, token="someone-else")
    assert forged.status_code == 403
    unsigned = twilio.client.post(staff_call.url.replace("https://smsvoice.example.com", ""))
    assert unsigned.status_code == 403
    status = twilio.post(
        staff_call.status_callback,
        {"CallSid": staff_call.sid, "CallStatus": "completed", "CallDuration": "600"},
        token="someone-else",
    )
    assert status.status_code == 403
    call.refresh_from_db()
    assert call.status == Status.CALLING and call.charged_at is None


def test_an_unknown_call_gets_a_hang_up(phone, twilio):
    from django.urls import reverse

    url = "https://smsvoice.example.com" + reverse(
        "broadcasts:voice_record_step", args=["no-such-token", "answer"]
    )
    assert verbs(twilio.twiml(url, {"AnsweredBy": "human"})) == ["Hangup"]
    status_url = url.replace("/answer/", "/status/")
    assert twilio.post(status_url, {"CallStatus": "completed"}).status_code == 204
