"""Twilio's callbacks: signed or refused, tolerant of unknown ids, idempotent on replay."""

import pytest
from django.urls import reverse
from twilio.request_validator import RequestValidator

from broadcasts.models import InboundMessage, Recipient
from families.models import ConsentEvent, OptOut
from tests.broadcasts.sms_helpers import balance, family_with_number, give_credits
from tests.factories import SendingNumberFactory

pytestmark = pytest.mark.django_db
TOKEN = "test-auth-token-0123456789abcdef"
SENDING = "+14155550100"


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.SITE_URL = "https://smsvoice.example.com"


def post_signed(client, name, params, *, token=TOKEN, **headers):
    path = reverse(name)
    url = "https://smsvoice.example.com" + path
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature, **headers)


def inbound(client, body, *, sender="+12025550123", **headers):
    params = {"From": sender, "To": SENDING, "Body": body, "MessageSid": "SM1"}
    return post_signed(client, "broadcasts:twilio_sms", params, **headers)


@pytest.fixture
def number(org):
    return SendingNumberFactory(organization=org, e164=SENDING)


def test_a_forged_inbound_text_is_refused(client, number):
    response = post_signed(
        client,
        "broadcasts:twilio_sms",
        {"From": "+12025550123", "To": SENDING, "Body": "STOP"},
        token="not-the-token",
    )
    assert response.status_code == 403
    assert not OptOut.objects.exists() and not InboundMessage.objects.exists()


def test_an_unsigned_status_callback_is_refused(client):
    response = client.post(
        reverse("broadcasts:twilio_status"), {"MessageSid": "SMx", "MessageStatus": "delivered"}
    )
    assert response.status_code == 403


def test_the_signature_is_checked_against_the_public_url_behind_a_proxy(client, number, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "app-internal"]
    response = inbound(client, "HELP", HTTP_HOST="app-internal:8000", HTTP_X_FORWARDED_PROTO="http")
    assert response.status_code == 200


@pytest.mark.parametrize("body", ["STOP", "Stop", " stop.", "UNSUBSCRIBE", "cancel", "quit"])
def test_stop_variants_unsubscribe_and_confirm(client, org, number, body):
    family = family_with_number(org, e164="+12025550123")
    response = inbound(client, body)
    assert response.status_code == 200
    assert b"unsubscribed" in response.content
    assert OptOut.objects.filter(organization=org, e164="+12025550123").exists()
    phone = family.phone_numbers.get()
    assert phone.sms_opt_in is False
    event = ConsentEvent.objects.filter(phone_number=phone).order_by("-id").first()
    assert (event.opted_in, event.source) == (False, ConsentEvent.Source.KEYWORD)


def test_stop_please_is_a_revocation_in_words_not_a_keyword(client, org, number):
    # Issue 12: the FCC's per-se words revoke inside a sentence (it was no keyword before).
    family_with_number(org, e164="+12025550123")
    response = inbound(client, "STOP please")
    assert b"unsubscribed" in response.content
    assert OptOut.objects.filter(e164="+12025550123").exists()
    logged = InboundMessage.objects.get()
    assert (logged.body, logged.keyword) == ("STOP please", "")


def test_a_reply_that_revokes_nothing_gets_no_answer(client, org, number):
    family_with_number(org, e164="+12025550123")
    response = inbound(client, "See you Saturday!")
    assert response.content.endswith(b"<Response></Response>")
    assert not OptOut.objects.exists()


def test_start_resubscribes_with_evidence(client, org, number):
    family = family_with_number(org, e164="+12025550123")
    inbound(client, "STOP")
    response = inbound(client, "start")
    assert b"subscribed" in response.content
    assert not OptOut.objects.exists()
    phone = family.phone_numbers.get()
    assert phone.sms_opt_in is True
    sources = list(
        ConsentEvent.objects.filter(phone_number=phone)
        .order_by("id")
        .values_list("opted_in", "source")
    )
    assert sources[-2:] == [(False, "keyword"), (True, "keyword")]


def test_help_names_the_organization_and_its_contact(client, org, number):
    response = inbound(client, "help")
    assert org.name.encode() in response.content
    assert org.contact_phone.encode() in response.content


def test_a_stop_from_an_unknown_number_is_still_kept_as_evidence(client, org, number):
    inbound(client, "STOP", sender="+13125550199")
    event = ConsentEvent.objects.get(e164="+13125550199")
    assert event.phone_number is None and event.opted_in is False
    assert OptOut.objects.filter(e164="+13125550199").exists()


def test_a_text_to_a_number_nobody_owns_gets_no_reply(client, org):
    response = inbound(client, "STOP")
    assert response.status_code == 200
    assert not OptOut.objects.exists()


def _sent_recipient(org, sid="SMabc"):
    from broadcasts.models import Broadcast

    give_credits(org, 5)
    family = family_with_number(org)
    broadcast = Broadcast.objects.create(
        organization=org,
        selection_kind="families",
        text="Hi",
        sender_label="x",
        from_e164=SENDING,
        credits_debited=1,
        recipient_count=1,
        status="sending",
    )
    from credits.services import credits_debit

    credits_debit(organization=org, credits=1, reference=broadcast.debit_reference)
    return Recipient.objects.create(
        broadcast=broadcast,
        organization=org,
        e164=family.phone_numbers.get().e164,
        family=family,
        owner_label="x",
        text="Hi",
        parts=1,
        credits=1,
        status="sent",
        provider_sid=sid,
    )


def status_callback(client, sid, status, code=""):
    params = {"MessageSid": sid, "MessageStatus": status}
    if code:
        params["ErrorCode"] = code
    return post_signed(client, "broadcasts:twilio_status", params)


def test_delivered_callbacks_mark_the_recipient_delivered(client, org):
    recipient = _sent_recipient(org)
    assert status_callback(client, "SMabc", "delivered").status_code == 204
    recipient.refresh_from_db()
    assert recipient.status == Recipient.Status.DELIVERED


def test_an_undelivered_callback_refunds_once_however_often_it_is_replayed(client, org):
    recipient = _sent_recipient(org)
    assert balance(org) == 4
    for _ in range(3):
        assert status_callback(client, "SMabc", "undelivered", "30003").status_code == 204
    recipient.refresh_from_db()
    assert recipient.status == Recipient.Status.UNDELIVERED
    assert recipient.error_code == "30003"
    assert balance(org) == 5


def test_an_unknown_message_id_is_answered_and_ignored(client, org):
    assert status_callback(client, "SMnobody", "delivered").status_code == 204


def test_a_callback_that_comes_before_the_id_is_recorded_is_applied_later(org):
    from broadcasts.sms.delivery import apply_early_receipts, delivery_status_record

    delivery_status_record(sid="SMearly", status="delivered")
    recipient = _sent_recipient(org, sid="SMearly")
    Recipient.objects.filter(pk=recipient.pk).update(status="sent")
    apply_early_receipts(["SMearly"])
    recipient.refresh_from_db()
    assert recipient.status == Recipient.Status.DELIVERED
