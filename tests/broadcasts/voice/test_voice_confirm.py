"""The voice dialog asks before anyone is dialed (count and cost), and says up front, in words
for the person's role, when the credits cannot pay for the call to record."""

import pytest
from django.urls import reverse

from broadcasts.models import Broadcast, VoiceRecordingCall
from families.selection import selection_to_session
from tests.broadcasts.sms_helpers import families_selection, family_with_number

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
TTS = {"text": "No class tonight.", "voice": "Polly.Joanna", "language": "en-US"}


def select(client, *families):
    session = client.session
    selection_to_session(session, selection=families_selection(*families))
    session.save()


def dialog(client, data=None) -> str:
    url = reverse("broadcasts:voice_compose", args=["families"])
    if data is None:
        return client.get(url, **HTMX).content.decode()
    return client.post(url, data, **HTMX).content.decode()


def test_send_asks_first_with_the_count_and_the_cost(org, staff_client, ready, phone):
    ready(credits=30)
    select(staff_client, *[family_with_number(org) for _ in range(3)])
    html = dialog(staff_client, {"action": "confirm_send", **TTS})
    assert "Call 3 numbers? About 3 credits" in html
    assert "Yes, call them now" in html and "Keep editing" in html
    assert not Broadcast.objects.exists() and not phone.calls
    assert 'value="No class tonight."' in html or ">No class tonight.</textarea>" in html


def test_call_me_asks_first_with_the_count_and_the_cost_per_minute(org, staff_client, ready, phone):
    ready(credits=30)
    select(staff_client, family_with_number(org))
    html = dialog(staff_client, {"action": "confirm_call", "callback": "(202) 555-0199"})
    assert "Call 1 number once you have recorded? About 1 credit a minute" in html
    assert "Yes, call me" in html
    assert not VoiceRecordingCall.objects.exists() and not phone.calls
    html = dialog(staff_client, {"action": "call", "callback": "(202) 555-0199"})
    assert "Calling (202) 555-0199…" in html and len(phone.calls) == 1


def test_a_confirmation_is_not_offered_for_what_would_be_refused(org, staff_client, ready, phone):
    ready(credits=1)
    select(staff_client, family_with_number(org), family_with_number(org))
    html = dialog(staff_client, {"action": "confirm_send", **TTS})
    assert "voice-confirm" not in html
    assert "This needs 2 credits" in html and "only 1 is available" in html
    html = dialog(staff_client, {"action": "confirm_call", "callback": "12"})
    assert "voice-confirm" not in html and "is not a US or Canadian number" in html


@pytest.mark.parametrize(
    ("client_name", "words"),
    [("staff_client", "Ask an admin to buy credits."), ("admin_client", ">Buy credits</a>")],
)
def test_at_zero_credits_the_warning_shows_before_call_me_and_by_role(
    request, org, ready, client_name, words
):
    client = request.getfixturevalue(client_name)
    ready(credits=0)
    select(client, family_with_number(org))
    html = dialog(client)
    assert 'data-testid="voice-call-short"' in html
    assert "Not enough credits to call you" in html and words in html
    assert "Buy credits first" not in html
    call_me = html.split('value="confirm_call"')[1].split(">")[0]
    assert "disabled" in call_me


def test_a_refused_call_me_words_the_way_out_by_role(org, staff_client, ready, phone):
    ready(credits=0)
    select(staff_client, family_with_number(org))
    html = dialog(staff_client, {"action": "call", "callback": "2025550199"})
    assert "Not enough credits to call you" in html
    assert "Ask an admin to buy credits." in html and "Buy credits first" not in html
    assert not phone.calls
