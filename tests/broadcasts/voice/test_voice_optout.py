"""Pressing 9 during a broadcast call: a voice opt-out with its consent evidence, honoured by
later voice broadcasts (not by texts), and shown on the family page."""

import pytest

from broadcasts.models import Broadcast, Recipient, VoiceOptOut
from broadcasts.voice import recording as voice
from families.models import ConsentEvent
from tests.broadcasts.sms_helpers import balance, families_selection, family_with_number
from tests.broadcasts.voice.conftest import said, verbs
from tests.broadcasts.voice.test_voice_dial import calls_to, number_of, recorded

pytestmark = pytest.mark.django_db


def press_9(twilio, phone, family, digit="9"):
    (call,) = calls_to(phone, number_of(family))[-1:]
    root = twilio.twiml(call.url, {"CallSid": call.sid, "AnsweredBy": "human"})
    return twilio.twiml(root.find("Gather").get("action"), {"CallSid": call.sid, "Digits": digit})


def test_pressing_9_records_a_voice_opt_out_with_its_evidence(org, sender, ready, phone, twilio):
    ready()
    family = family_with_number(org)
    broadcast = recorded(org, sender, twilio, family)
    root = press_9(twilio, phone, family)
    assert "will not receive these calls" in said(root) and verbs(root)[-1] == "Hangup"

    opt_out = VoiceOptOut.objects.get(organization=org)
    assert opt_out.e164 == number_of(family) and opt_out.broadcast == broadcast
    event = ConsentEvent.objects.get(channel=ConsentEvent.Channel.VOICE)
    assert event.phone_number == family.phone_numbers.get()
    assert (event.opted_in, event.source, event.actor_label) == (
        False,
        ConsentEvent.Source.KEYWORD,
        number_of(family),
    )
    assert "Pressed 9" in event.note

    press_9(twilio, phone, family)  # pressed again, or Twilio replays the request
    assert ConsentEvent.objects.filter(channel="voice").count() == 1


def test_another_key_just_ends_the_call(org, sender, ready, phone, twilio):
    ready()
    family = family_with_number(org)
    recorded(org, sender, twilio, family)
    assert verbs(press_9(twilio, phone, family, digit="1")) == ["Hangup"]
    assert not VoiceOptOut.objects.exists()


def test_later_voice_broadcasts_leave_the_number_out_but_texts_still_go(
    org, sender, ready, phone, twilio
):
    ready()
    stopped, other = family_with_number(org), family_with_number(org)
    recorded(org, sender, twilio, stopped)
    press_9(twilio, phone, stopped)

    preview = voice.voice_preview(organization=org, selection=families_selection(stopped, other))
    assert preview.numbers == 1
    assert preview.excluded == {Recipient.Reason.VOICE_OPTED_OUT: 1}
    broadcast = recorded(org, sender, twilio, stopped, other)
    left_out = Recipient.objects.get(broadcast=broadcast, e164=number_of(stopped))
    assert (left_out.status, left_out.reason) == (Recipient.Status.EXCLUDED, "voice_opt_out")
    assert len(calls_to(phone, number_of(stopped))) == 1  # only the first broadcast's call

    from broadcasts.selectors import recipients_plan

    sms = recipients_plan(organization=org, selection=families_selection(stopped, other))
    assert len(sms.recipients) == 2


def test_a_number_that_opted_out_meanwhile_is_skipped_and_refunded(
    org, sender, ready, phone, twilio
):
    from broadcasts.engine.run import sender_run
    from broadcasts.voice import dial as voice_dial

    ready(credits=40)
    family = family_with_number(org)
    broadcast = Broadcast.objects.create(
        organization=org,
        channel="voice",
        status=Broadcast.Status.SENDING,
        selection_kind="families",
        sender=sender,
        sender_label="Jo",
        from_e164="+14155550100",
        credits_debited=1,
    )
    recipient = Recipient.objects.create(
        broadcast=broadcast, organization=org, e164=number_of(family), credits=1
    )
    voice_dial.voice_opt_out(organization=org, e164=number_of(family), broadcast=None)
    sender_run(sender="voice:+14155550100")
    recipient.refresh_from_db()
    assert (recipient.status, recipient.reason) == (Recipient.Status.SKIPPED, "voice_opt_out")
    assert not phone.calls
    assert balance(org) == 41


def test_the_family_page_shows_the_voice_opt_out(org, sender, ready, phone, twilio, staff_client):
    ready()
    family = family_with_number(org)
    recorded(org, sender, twilio, family)
    press_9(twilio, phone, family)
    html = staff_client.get(f"/families/{family.pk}/").content.decode()
    assert "Pressed 9 during voice broadcast" in html


def listen_after_message(twilio, phone, family):
    """The call's TwiML up to the Gather that listens for words once the message is over."""
    (call,) = calls_to(phone, number_of(family))[-1:]
    root = twilio.twiml(call.url, {"CallSid": call.sid, "AnsweredBy": "human"})
    return call, root.findall("Gather")


def test_the_call_listens_for_words_only_after_the_message(org, sender, ready, phone, twilio):
    ready()
    family = family_with_number(org)
    recorded(org, sender, twilio, family)
    _, (during, after) = listen_after_message(twilio, phone, family)
    assert during.get("input") == "dtmf" and "say stop calling" in said(during)
    assert after.get("input") == "dtmf speech" and list(after) == []
    assert after.get("action") == during.get("action")


def test_saying_stop_calling_records_a_voice_opt_out_with_the_words(
    org, sender, ready, phone, twilio
):
    ready()
    family = family_with_number(org)
    broadcast = recorded(org, sender, twilio, family)
    call, (_, after) = listen_after_message(twilio, phone, family)
    heard = {"CallSid": call.sid, "SpeechResult": "Please stop calling me.", "Confidence": "0.9"}
    root = twilio.twiml(after.get("action"), heard)
    assert "will not receive these calls" in said(root)

    assert VoiceOptOut.objects.get(organization=org).broadcast == broadcast
    event = ConsentEvent.objects.get(channel=ConsentEvent.Channel.VOICE)
    assert (event.opted_in, event.source, event.words) == (
        False,
        ConsentEvent.Source.REPLY,
        "Please stop calling me.",
    )
    assert event.note.startswith('Said "Please stop calling me."')
    family.phone_numbers.get().refresh_from_db()
    assert family.phone_numbers.get().sms_opt_in is True  # words on a call stop calls only


@pytest.mark.parametrize("words", ["Hello?", "Who is this?", "Thanks, see you Saturday"])
def test_other_words_just_end_the_call(org, sender, ready, phone, twilio, words):
    ready()
    family = family_with_number(org)
    recorded(org, sender, twilio, family)
    call, (_, after) = listen_after_message(twilio, phone, family)
    root = twilio.twiml(after.get("action"), {"CallSid": call.sid, "SpeechResult": words})
    assert verbs(root) == ["Hangup"]
    assert not VoiceOptOut.objects.exists() and not ConsentEvent.objects.filter(channel="voice")


def test_without_spoken_opt_out_the_call_only_offers_the_key(
    org, sender, ready, phone, twilio, settings
):
    settings.VOICE_SPOKEN_OPT_OUT = False
    ready()
    family = family_with_number(org)
    recorded(org, sender, twilio, family)
    _, gathers = listen_after_message(twilio, phone, family)
    assert [g.get("input") for g in gathers] == ["dtmf"]
    assert "say stop calling" not in said(gathers[0])
