"""Voice broadcast tests: an organization ready to call, the Twilio stand-in placing the calls,
and Twilio's own requests (TwiML fetches, status and recording callbacks) played by the test,
signed exactly as Twilio signs them.

The stand-in places calls and can call back with their status, but it does not run TwiML: the
`twilio` fixture is how a test says what the person on the phone did.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from twilio.request_validator import RequestValidator

from broadcasts.providers.twilio import reset_client
from tests.broadcasts.sms_helpers import give_credits
from tests.factories import SendingNumberFactory, StaffMemberFactory
from tests.twilio_standin import TwilioStandin, point_settings_at

SID = "AC" + "7" * 32
TOKEN = "voice-test-auth-token"
SITE = "https://smsvoice.example.com"
SENDING = "+14155550100"


@pytest.fixture
def eager_tasks():
    from smsvoice.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def phone(settings, eager_tasks) -> Iterator[TwilioStandin]:
    """The stand-in without callbacks (the test plays them), tasks in-process, no retry wait."""
    with TwilioStandin(account_sid=SID, auth_token=TOKEN, callbacks=False) as standin:
        settings.TWILIO_ACCOUNT_SID = SID
        settings.TWILIO_AUTH_TOKEN = TOKEN
        point_settings_at(settings, standin.base_url)
        settings.SMS_BACKEND = "twilio"
        settings.SITE_URL = SITE
        settings.VOICE_RETRY_DELAY_SECONDS = 0
        reset_client()
        yield standin
        reset_client()


class Twilio:
    """Twilio's side of the webhooks: signed POSTs to the URLs we gave it, as it sends them."""

    def __init__(self, client, capture) -> None:
        self.client = client
        self.capture = capture

    def post(self, url: str, params: dict[str, str], *, token: str = TOKEN):
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        signature = RequestValidator(token).compute_signature(url, params)
        # Whatever the request commits to do next (send, dial) runs, as it would in production.
        with self.capture(execute=True):
            return self.client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)

    def twiml(self, url: str, params: dict[str, str] | None = None) -> ET.Element:
        response = self.post(url, params or {})
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == "application/xml"
        root = ET.fromstring(response.content)
        assert root.tag == "Response"
        return root


@pytest.fixture
def twilio(client, django_capture_on_commit_callbacks) -> Twilio:
    return Twilio(client, django_capture_on_commit_callbacks)


@pytest.fixture
def sender(org):
    return StaffMemberFactory(organization=org, first_name="Jo", last_name="Coach")


@pytest.fixture
def ready(org):
    """Credits and a sending number that may place 50 calls a second (tests don't wait)."""

    def make(credits: int = 100):
        if credits:
            give_credits(org, credits)
        return SendingNumberFactory(organization=org, e164=SENDING, calls_per_second=50)

    return make


def verbs(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def said(element: ET.Element) -> str:
    return " ".join(say.text or "" for say in element.iter("Say"))
