"""Our real requests, as the gateway sends them, checked against Twilio's own API description.

Prism serves ../shared/twilio/twilio_api_v2010.json with --errors: a request the description
does not allow (a missing or misspelt parameter, a wrong type or format, no Basic auth) is
answered 422 (or 401), which the gateway turns into a permanent ProviderError. Prism answers
valid requests with the description's examples — except where those examples break the
description's own schema (relative `uri`s for format "uri", latitudes as strings…): then it
answers 500 with violations located in the *response*. Those say nothing about our request, so
`accepted()` lets them through and fails on anything located in the request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import pytest
import requests

from broadcasts.providers import twilio as gateway
from broadcasts.providers.twilio import ProviderError

T = TypeVar("T")

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2  # the description requires ^AC[0-9a-fA-F]{32}$
APP = "https://app.example"


@pytest.fixture
def prism(prism_twilio, settings):
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = "contract-test-token"
    settings.TWILIO_API_BASE = prism_twilio
    gateway.reset_client()
    yield prism_twilio
    gateway.reset_client()


def accepted(operation: Callable[[], T]) -> T | None:
    """The call's result; None if Prism faulted only its own example response."""
    try:
        return operation()
    except ProviderError as error:
        violations = (error.details or {}).get("validation") or []
        about_request = [v for v in violations if v["location"][:1] != ["response"]]
        if error.status == 500 and violations and not about_request:
            return None
        raise AssertionError(f"Prism refused our request: {error.details or error}") from error


def test_prism_refuses_a_request_the_description_does_not_allow(prism):
    # The check itself can fail: a message without its required To is a 422.
    response = requests.post(
        f"{prism}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
        data={"From": "+14155550100", "Body": "no recipient"},
        auth=(ACCOUNT_SID, "contract-test-token"),
        timeout=10,
    )
    assert response.status_code == 422, response.text


def test_sms_send_with_a_status_callback_is_a_valid_create_message(prism):
    sent = accepted(
        lambda: gateway.sms_send(
            to="+12025550111",
            from_="+14155550100",
            body="Gym closed today 🌧️",
            status_callback=f"{APP}/webhooks/twilio/status",
        )
    )

    assert sent is not None and sent.sid.startswith("SM") and sent.status == "queued"


def test_message_fetch_is_a_valid_fetch_message(prism):
    sid = gateway.sms_send(to="+12025550111", from_="+14155550100", body="hi").sid

    info = accepted(lambda: gateway.message_fetch(sid=sid))

    assert info is not None and info.sid.startswith("SM") and info.status


def test_messages_list_is_a_valid_list_message(prism):
    accepted(
        lambda: gateway.messages_list(
            to="+12025550111", from_="+14155550100", sent_after=datetime(2008, 1, 1, tzinfo=UTC)
        )
    )


def test_call_create_with_machine_detection_is_a_valid_create_call(prism):
    call = accepted(
        lambda: gateway.call_create(
            to="+12025550111",
            from_="+14155550100",
            url=f"{APP}/voice/twiml/12",
            status_callback=f"{APP}/webhooks/twilio/voice-status",
            machine_detection="DetectMessageEnd",
            machine_detection_timeout=30,
            async_amd="true",
            async_amd_status_callback=f"{APP}/webhooks/twilio/amd",
        )
    )

    assert call is not None and call.sid.startswith("CA")


def test_status_callback_events_trip_only_prisms_form_array_parsing(prism):
    # The SDK sends one StatusCallbackEvent field per event, as the description tells ("specify
    # each one in a separate status_callback_event parameter") and Twilio accepts; Prism 5.14
    # reads arrays in form bodies only as StatusCallbackEvent[]=…. All else must be valid.
    with pytest.raises(ProviderError) as raised:
        gateway.call_create(
            to="+12025550111",
            from_="+14155550100",
            url=f"{APP}/voice/twiml/12",
            status_callback=f"{APP}/webhooks/twilio/voice-status",
            status_callback_event=["initiated", "ringing", "answered", "completed"],
        )

    violations = raised.value.details["validation"]
    assert [(v["location"], v["code"]) for v in violations] == [
        (["body", "StatusCallbackEvent"], "type")
    ]


def test_call_fetch_and_hang_up_are_valid(prism):
    sid = "CA" + "a" * 32
    assert accepted(lambda: gateway.call_fetch(sid=sid)) is not None
    assert accepted(lambda: gateway.call_update(sid=sid, status="completed")) is not None


def test_numbers_search_is_a_valid_list_available_local_numbers(prism):
    accepted(lambda: gateway.numbers_search(country="US", area_code="808", limit=5))


def test_number_buy_update_and_release_are_valid(prism):
    number = accepted(
        lambda: gateway.number_buy(
            phone_number="+18089255327",
            sms_url=f"{APP}/webhooks/twilio/sms",
            voice_url=f"{APP}/webhooks/twilio/voice",
            status_callback=f"{APP}/webhooks/twilio/number",
        )
    )
    assert number is not None and number.sid.startswith("PN")

    accepted(lambda: gateway.number_update(sid=number.sid, sms_url=f"{APP}/webhooks/twilio/sms2"))
    accepted(lambda: gateway.number_release(sid=number.sid))
