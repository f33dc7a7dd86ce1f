"""The voice dialog keeps the text to be read out as a draft, like the SMS window."""

import pytest
from django.urls import reverse

from tests.broadcasts.sms_helpers import family_with_number
from tests.broadcasts.test_drafts import select, textarea

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
VOICE = reverse("broadcasts:voice_compose", args=["families"])
VOICE_ESTIMATE = reverse("broadcasts:voice_estimate", args=["families"])


def test_the_voice_message_text_is_kept_until_sent_or_discarded(
    org, staff_client, ready, phone, twilio
):
    ready(credits=20)
    family = family_with_number(org)
    select(staff_client, family)
    html = staff_client.post(VOICE_ESTIMATE, {"text": "Pool closed"}, **HTMX).content.decode()
    assert "Discard draft" in html
    assert textarea(staff_client.get(VOICE, **HTMX).content.decode(), "id_voice_text") == (
        "Pool closed"
    )
    staff_client.post(VOICE, {"action": "discard", "text": "Pool closed"}, **HTMX)
    assert textarea(staff_client.get(VOICE, **HTMX).content.decode(), "id_voice_text") == ""

    staff_client.post(VOICE_ESTIMATE, {"text": "Pool closed"}, **HTMX)
    form = {"action": "send", "text": "Pool closed", "voice": "Polly.Joanna", "language": "en-US"}
    with twilio.capture(execute=True):
        assert staff_client.post(VOICE, form, **HTMX).status_code == 204
    select(staff_client, family)
    assert textarea(staff_client.get(VOICE, **HTMX).content.decode(), "id_voice_text") == ""
