"""A phone texting the organization's number through the real signed webhook."""

from django.conf import settings
from django.urls import reverse
from twilio.request_validator import RequestValidator

SENDING = "+14155550100"
PHONE = "+12025550123"
_sids = iter(range(1, 10_000))


def text_in(client, body: str, *, sender: str = PHONE, to: str = SENDING):
    """POST what Twilio posts for an inbound text, signed with the configured auth token."""
    path = reverse("broadcasts:twilio_sms")
    params = {"From": sender, "To": to, "Body": body, "MessageSid": f"SM{next(_sids):032d}"}
    url = settings.SITE_URL + path
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)
    response = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 200
    return response
