"""The voice dialog, the broadcast page's call columns, the API, Australia's refusal, and the
embedded demo played through the outbox."""

import pytest
from django.urls import reverse

from broadcasts.models import (
    Broadcast,
    OutboxMessage,
    Recipient,
    VoicePreference,
    VoiceRecordingCall,
)
from families.selection import selection_to_session
from smsvoice.models import Organization
from tests.broadcasts.sms_helpers import balance, families_selection, family_with_number
from tests.broadcasts.voice.test_voice_dial import calls_to, end, number_of, recorded

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def select(client, *families):
    session = client.session
    selection_to_session(session, selection=families_selection(*families))
    session.save()


def compose_url(kind="families"):
    return reverse("broadcasts:voice_compose", args=[kind])


def test_the_dialog_shows_numbers_left_out_and_the_cost_per_minute(
    org, staff_client, staff_member, ready
):
    ready(credits=40)
    families = [family_with_number(org, opted_in=False) for _ in range(3)]
    families.append(family_with_number(org, e164=number_of(families[0])))  # the same number
    select(staff_client, *families)
    VoicePreference.objects.create(staff_member=staff_member, callback_e164="+12025550199")

    response = staff_client.get(compose_url(), **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith("<dialog")
    assert 'data-testid="voice-numbers">3<' in html
    assert "1 same number selected more than once" in html
    assert "3 credits per minute of message" in html
    assert "enough for 13 minutes" in html
    assert 'value="(202) 555-0199"' in html  # remembered
    assert "Call me" in html and "Or type a message to be read out" in html
    assert "charged as dialed" in html and "refunded" in html

    page = staff_client.get(compose_url())
    assert page.status_code == 200 and b"<dialog" not in page.content
    assert b"New voice broadcast" in page.content


def test_call_me_starts_the_call_and_the_dialog_shows_it_live(
    org, staff_client, staff_member, ready, phone
):
    ready()
    select(staff_client, family_with_number(org))
    response = staff_client.post(
        compose_url(), {"action": "call", "callback": "202 555 0199"}, **HTMX
    )
    html = response.content.decode()
    assert "Calling (202) 555-0199…" in html
    call = VoiceRecordingCall.objects.get()
    assert f'hx-get="{reverse("broadcasts:voice_call_progress", args=[call.pk])}"' in html
    assert [c.to for c in phone.calls.values()] == ["+12025550199"]
    assert staff_member.voice_preference.callback_e164 == "+12025550199"

    VoiceRecordingCall.objects.filter(pk=call.pk).update(status="recorded", recording_seconds=42)
    progress = staff_client.get(reverse("broadcasts:voice_call_progress", args=[call.pk]))
    assert "Recorded 0:42" in progress.content.decode()


def test_a_refused_call_says_why_in_the_dialog(org, staff_client, ready, phone):
    ready()
    select(staff_client, family_with_number(org))
    response = staff_client.post(compose_url(), {"action": "call", "callback": "12"}, **HTMX)
    assert "is not a US or Canadian number" in response.content.decode()
    assert not phone.calls and not Broadcast.objects.exists()


def test_cancel_in_the_dialog_hangs_up_and_sends_nothing(org, staff_client, ready, phone):
    ready()
    select(staff_client, family_with_number(org))
    staff_client.post(compose_url(), {"action": "call", "callback": "2025550199"}, **HTMX)
    call = VoiceRecordingCall.objects.get()
    response = staff_client.post(reverse("broadcasts:voice_call_cancel", args=[call.pk]), **HTMX)
    assert "Cancelled" in response.content.decode()
    call.refresh_from_db()
    assert call.status == "cancelled" and call.broadcast.status == Broadcast.Status.CANCELLED
    (placed,) = phone.calls.values()
    assert placed.updates == [{"Status": "completed"}]


def test_text_to_speech_sends_from_the_dialog_and_the_page_shows_each_call(
    org, staff_client, ready, phone, twilio
):
    ready(credits=30)
    reachable, busy = family_with_number(org), family_with_number(org)
    select(staff_client, reachable, busy)
    form = {
        "action": "send",
        "text": "Classes are cancelled today because of snow.",
        "voice": "Polly.Matthew",
        "language": "en-US",
    }
    with twilio.capture(execute=True):
        response = staff_client.post(compose_url(), form, **HTMX)
    broadcast = Broadcast.objects.get(channel="voice")
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("broadcasts:detail", args=[broadcast.pk])
    assert broadcast.voice.tts_voice == "Polly.Matthew" and broadcast.credits_debited == 2

    end(twilio, calls_to(phone, number_of(reachable))[0], "completed", "human", seconds=14)
    end(twilio, calls_to(phone, number_of(busy))[0], "busy")
    html = staff_client.get(reverse("broadcasts:detail", args=[broadcast.pk])).content.decode()
    for heading in ("Call status", "Attempts", "Answered by", "Duration", "Credits"):
        assert f"<th>{heading}</th>" in html
    assert "Answered" in html and "Person" in html and "0:14" in html
    assert "Calling" in html  # the busy number is being called again
    assert "Classes are cancelled today" in html


def test_text_to_speech_short_of_credits_is_refused_before_anything_goes_out(
    org, staff_client, ready, phone
):
    ready(credits=1)
    select(staff_client, family_with_number(org), family_with_number(org))
    form = {"action": "send", "text": "Hi", "voice": "Polly.Joanna", "language": "en-US"}
    html = staff_client.post(compose_url(), form, **HTMX).content.decode()
    assert "This needs 2 credits" in html and "only 1 is available" in html
    assert not Broadcast.objects.exists() and not phone.calls


def test_a_voice_that_does_not_speak_the_language_is_refused(org, staff_client, ready, phone):
    ready()
    select(staff_client, family_with_number(org))
    form = {"action": "send", "text": "Bonjour", "voice": "Polly.Joanna", "language": "fr-CA"}
    html = staff_client.post(compose_url(), form, **HTMX).content.decode()
    assert "Choose a voice that speaks French (Canada): Chantal (female)." in html


def test_call_me_to_hear_it_plays_the_text_to_the_staff_member(
    org, staff_client, ready, phone, twilio
):
    ready()
    select(staff_client, family_with_number(org))
    form = {
        "action": "hear",
        "callback": "(202) 555-0199",
        "text": "Pool closed Monday.",
        "voice": "Polly.Joanna",
        "language": "en-US",
    }
    html = staff_client.post(compose_url(), form, **HTMX).content.decode()
    assert "Calling (202) 555-0199…" in html and "Pool closed Monday." in html  # form stays
    (placed,) = phone.calls.values()
    root = twilio.twiml(placed.url, {"CallSid": placed.sid, "AnsweredBy": "human"})
    texts = [s.text for s in root.iter("Say")]
    assert "Pool closed Monday." in texts
    twilio.post(
        placed.status_callback,
        {"CallSid": placed.sid, "CallStatus": "completed", "CallDuration": "20"},
    )
    call = VoiceRecordingCall.objects.get()
    assert (call.status, call.credits_charged) == ("ended", 1)
    assert not Broadcast.objects.exists()


def test_send_now_after_buying_credits(org, sender, staff_client, ready, phone, twilio):
    from credits.services import credits_adjust

    ready(credits=0)
    family = family_with_number(org)
    broadcast = recorded(org, sender, twilio, family)
    assert broadcast.status == Broadcast.Status.WAITING
    page = staff_client.get(reverse("broadcasts:detail", args=[broadcast.pk])).content.decode()
    assert "Waiting for credits" in page and "Send now" in page
    assert "The recording is kept" in page

    credits_adjust(organization=org, credits=5, memo="bought")
    with twilio.capture(execute=True):
        staff_client.post(reverse("broadcasts:voice_send_now", args=[broadcast.pk]))
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.SENDING
    assert calls_to(phone, number_of(family)) and balance(org) == 4


def test_another_organizations_call_is_not_found(org, other_staff_client, ready, phone):
    ready()
    call = VoiceRecordingCall.objects.create(
        organization=org, token="t", to_e164="+12025550199", from_e164="+14155550100"
    )
    url = reverse("broadcasts:voice_call_progress", args=[call.pk])
    assert other_staff_client.get(url).status_code == 404


# --- Australia ---


def test_an_australian_organization_is_refused_voice_everywhere(org, staff_client, ready, phone):
    ready()
    family = family_with_number(org)
    Organization.objects.filter(pk=org.pk).update(country=Organization.Country.AU)
    select(staff_client, family)

    page = staff_client.get(compose_url())
    assert page.status_code == 403
    assert b"available to organizations in the US and Canada only" in page.content

    api = staff_client.post(
        reverse("api-voice-broadcasts"),
        {"selection": {"kind": "families", "ids": [family.pk]}, "mode": "tts", "text": "Hi"},
        content_type="application/json",
    )
    assert api.status_code == 400
    assert "US and Canada only" in api.json()["detail"]
    assert not Broadcast.objects.exists() and not phone.calls


# --- the API ---


def test_the_api_starts_a_recording_call_and_reports_its_progress(org, staff_client, ready, phone):
    ready()
    family = family_with_number(org)
    response = staff_client.post(
        reverse("api-voice-broadcasts"),
        {
            "selection": {"kind": "families", "ids": [family.pk]},
            "mode": "record",
            "callback_number": "+1 202 555 0199",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["broadcast"]["channel"] == "voice" and body["broadcast"]["status"] == "recording"
    assert body["recording_call"]["status"] == "calling"
    assert body["recording_call"]["label"] == "Calling (202) 555-0199…"
    call_url = reverse("api-voice-recording-call", args=[body["recording_call"]["id"]])
    assert staff_client.get(call_url).json()["status"] == "calling"


def test_the_api_sends_text_to_speech(org, staff_client, ready, phone, twilio):
    ready()
    family = family_with_number(org)
    with twilio.capture(execute=True):
        response = staff_client.post(
            reverse("api-voice-broadcasts"),
            {
                "selection": {"kind": "families", "ids": [family.pk]},
                "mode": "tts",
                "text": "No practice tonight.",
                "voice": "Polly.Chantal",
                "language": "fr-CA",
            },
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    assert response.json()["broadcast"]["status"] == "queued"  # dispatched once committed
    assert Broadcast.objects.get().status == Broadcast.Status.SENDING
    assert calls_to(phone, number_of(family))


def test_the_api_says_what_is_wrong(org, staff_client, ready, phone):
    ready()
    family = family_with_number(org)
    url = reverse("api-voice-broadcasts")
    selection = {"kind": "families", "ids": [family.pk]}
    no_text = staff_client.post(
        url, {"selection": selection, "mode": "tts"}, content_type="application/json"
    )
    assert no_text.status_code == 400 and "Type the message" in no_text.json()["detail"]
    bad_mode = staff_client.post(
        url, {"selection": selection, "mode": "fax"}, content_type="application/json"
    )
    assert bad_mode.status_code == 400 and "mode" in bad_mode.json()


# --- the embedded demo ---


def test_the_demo_plays_the_whole_flow_through_the_outbox(
    org, staff_client, ready, settings, eager_tasks, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "outbox"
    ready(credits=100)
    families = [family_with_number(org) for _ in range(2)]
    select(staff_client, *families)
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(compose_url(), {"action": "call", "callback": "2025550199"}, **HTMX)
    call = VoiceRecordingCall.objects.get()
    staff_call = OutboxMessage.objects.get(kind="call", to_e164="+12025550199")
    assert staff_call.sid == call.sid

    with django_capture_on_commit_callbacks(execute=True):
        html = staff_client.post(
            reverse("broadcasts:voice_call_simulate", args=[call.pk]), **HTMX
        ).content.decode()
    assert "Sending" in html
    broadcast = Broadcast.objects.get(pk=call.broadcast_id)
    assert broadcast.status == Broadcast.Status.SENDING and broadcast.voice.seconds == 42
    dialed = OutboxMessage.objects.filter(kind="call").exclude(to_e164="+12025550199")
    assert {m.to_e164 for m in dialed} == {number_of(f) for f in families}

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            reverse("broadcasts:voice_simulate_answers", args=[broadcast.pk]),
            {"outcome": "machine"},
        )
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DONE
    assert Recipient.objects.filter(broadcast=broadcast, status="delivered").count() == 2
    page = staff_client.get(reverse("broadcasts:detail", args=[broadcast.pk])).content.decode()
    assert "Voicemail" in page
    assert balance(org) == 100 - 2 - 2  # a 1:17 call to staff, 2 numbers × 0:42
