"""Our real Messaging Service requests, as broadcasts.providers.twilio_messaging sends them,
checked against Twilio's own description of messaging.twilio.com/v1 served by Prism
(../shared/twilio/twilio_messaging_v1.json, --errors: a request it does not allow is a 422).
See test_twilio_contract.py for how Prism's answers are read."""

from __future__ import annotations

import pytest
import requests

from broadcasts.providers import twilio as gateway
from broadcasts.providers import twilio_messaging as messaging
from tests.broadcasts.test_twilio_contract import ACCOUNT_SID, APP, accepted

SPEC = "twilio_messaging_v1.json"
SERVICE = "MG" + "0123456789abcdef" * 2
NUMBER = "PN" + "0123456789abcdef" * 2
ALPHA = "AI" + "0123456789abcdef" * 2


@pytest.fixture
def prism(prism_for, settings):
    base = prism_for(SPEC)
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = "contract-test-token"
    settings.TWILIO_MESSAGING_API_BASE = base
    gateway.reset_client()
    yield base
    gateway.reset_client()


def test_prism_refuses_a_pool_add_of_something_that_is_not_a_number_sid(prism):
    # The check itself can fail: PhoneNumberSid must match ^PN[0-9a-fA-F]{32}$.
    response = requests.post(
        f"{prism}/v1/Services/{SERVICE}/PhoneNumbers",
        data={"PhoneNumberSid": "+14155550100"},
        auth=(ACCOUNT_SID, "contract-test-token"),
        timeout=10,
    )
    assert response.status_code == 422, response.text


def test_service_create_with_our_callbacks_is_a_valid_create_service(prism):
    created = accepted(
        lambda: messaging.service_create(
            friendly_name="smsvoice org 12",
            inbound_url=f"{APP}/broadcasts/webhooks/twilio/sms/",
            status_callback=f"{APP}/broadcasts/webhooks/twilio/status/",
        )
    )
    assert created is None or created.sid.startswith("MG")


def test_services_named_is_a_valid_list_service(prism):
    accepted(lambda: messaging.services_named(friendly_name="smsvoice org 12"))


def test_adding_the_number_to_the_pool_is_a_valid_create_phone_number(prism):
    accepted(lambda: messaging.service_number_add(service_sid=SERVICE, number_sid=NUMBER))


def test_removing_the_number_from_the_pool_is_a_valid_delete_phone_number(prism):
    accepted(lambda: messaging.service_number_remove(service_sid=SERVICE, number_sid=NUMBER))


def test_adding_the_sender_id_is_a_valid_create_alpha_sender(prism):
    sid = accepted(
        lambda: messaging.alpha_sender_add(service_sid=SERVICE, alpha_sender="BondiSwim")
    )
    assert sid is None or sid.startswith("AI")


def test_removing_the_sender_id_is_a_valid_delete_alpha_sender(prism):
    accepted(lambda: messaging.alpha_sender_remove(service_sid=SERVICE, sid=ALPHA))


def test_deleting_the_service_is_a_valid_delete_service(prism):
    accepted(lambda: messaging.service_delete(sid=SERVICE))


def test_looking_a_service_text_up_by_its_to_alone_is_a_valid_list_message(prism_for, settings):
    # A text sent through a service shows no From while "accepted": sent_sid asks by To only.
    from datetime import UTC, datetime

    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = "contract-test-token"
    settings.TWILIO_API_BASE = prism_for("twilio_api_v2010.json")
    gateway.reset_client()
    try:
        accepted(
            lambda: gateway.messages_list(
                to="+61491570123", from_=None, sent_after=datetime(2008, 1, 1, tzinfo=UTC)
            )
        )
    finally:
        gateway.reset_client()
