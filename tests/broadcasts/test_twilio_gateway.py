"""The Twilio gateway, through the real twilio SDK, against the local stand-in over HTTP."""

from __future__ import annotations

import asyncio
import base64
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.http import QueryDict
from django.test import override_settings

from broadcasts.providers import twilio as gateway
from broadcasts.providers.twilio import ProviderError
from tests.broadcasts.conftest import STANDIN_ACCOUNT_SID, STANDIN_AUTH_TOKEN, free_port
from tests.twilio_standin import TwilioStandin, twilio_bases

SENDER = "+14155550100"
PARENT = "+12025550111"
MESSAGES_PATH = f"/2010-04-01/Accounts/{STANDIN_ACCOUNT_SID}/Messages.json"


def send(to: str = PARENT, body: str = "Gym closed today", **kwargs) -> gateway.SentMessage:
    return gateway.sms_send(to=to, from_=SENDER, body=body, **kwargs)


def error_of(operation) -> ProviderError:
    with pytest.raises(ProviderError) as raised:
        operation()
    return raised.value


# --- where requests go and what they carry --------------------------------------------------


def test_it_sends_to_the_configured_base_url_with_basic_auth_and_form_params(twilio_standin):
    sent = send(status_callback="https://app.example/webhooks/twilio/status")

    (request,) = twilio_standin.requests
    assert (request.method, request.path) == ("POST", MESSAGES_PATH)
    credentials = base64.b64encode(f"{STANDIN_ACCOUNT_SID}:{STANDIN_AUTH_TOKEN}".encode())
    assert request.headers["Authorization"] == f"Basic {credentials.decode()}"
    assert request.form == {
        "To": PARENT,
        "From": SENDER,
        "Body": "Gym closed today",
        "StatusCallback": "https://app.example/webhooks/twilio/status",
    }
    assert sent.sid in twilio_standin.messages
    assert sent.sid.startswith("SM") and len(sent.sid) == 34
    assert (sent.status, sent.num_segments) == ("queued", 1)


def test_it_leaves_out_the_status_callback_when_there_is_none(twilio_standin):
    send()

    assert "StatusCallback" not in twilio_standin.requests[0].form


def test_it_reports_the_parts_twilio_counted(twilio_standin):
    assert send(body="x" * 161).num_segments == 2
    assert send(body="Closed today 🌧️").num_segments == 1
    assert send(body="Closed today 🌧️ " + "x" * 60).num_segments == 2


def test_the_client_follows_a_change_of_settings(twilio_standin, settings):
    first = gateway.twilio_client()
    assert gateway.twilio_client() is first

    settings.TWILIO_TIMEOUT = 7
    assert gateway.twilio_client() is not first


def test_resetting_the_client_builds_a_new_one(twilio_standin):
    first = gateway.twilio_client()
    gateway.reset_client()

    assert gateway.twilio_client() is not first
    send()
    assert len(twilio_standin.requests) == 1


# --- how Twilio's answers become ProviderError ----------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        21211,  # invalid number
        21610,  # unsubscribed (STOP)
        21614,  # not a mobile number
        21408,  # region not enabled
        21612,  # unreachable from this sender
        21606,  # sender cannot message this destination
        21635,  # landline
    ],
)
def test_numbers_twilio_will_never_reach_fail_permanently(twilio_standin, code):
    twilio_standin.error_for_number(PARENT, code)

    error = error_of(send)

    assert error.permanent and not error.retryable
    assert (error.status, error.code, error.retry_after) == (400, code, None)
    assert not error.ambiguous
    assert error.message and str(code) in str(error)
    assert twilio_standin.messages == {}


def test_a_429_is_retryable_after_what_retry_after_says(twilio_standin):
    twilio_standin.fail_next(status=429, retry_after=3)

    error = error_of(send)

    assert not error.permanent
    assert (error.status, error.code, error.retry_after) == (429, 20429, 3.0)
    assert not error.ambiguous  # Twilio never processes a request it answered 429
    send()  # the next one goes through
    assert len(twilio_standin.messages) == 1


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_is_retryable_but_may_have_been_carried_out(twilio_standin, status):
    twilio_standin.fail_next(status=status)

    error = error_of(send)

    assert not error.permanent
    assert error.status == status
    assert error.ambiguous


def test_a_full_sender_queue_is_retryable_although_it_comes_as_a_400(twilio_standin):
    twilio_standin.error_for_number(PARENT, 21611)

    error = error_of(send)

    assert (error.status, error.code, error.permanent) == (400, 21611, False)


def test_a_request_slower_than_the_timeout_is_retryable_and_ambiguous(twilio_standin, settings):
    settings.TWILIO_TIMEOUT = 0.2
    twilio_standin.latency = 1.0

    error = error_of(send)

    assert not error.permanent
    assert error.status is None and error.code is None
    assert error.ambiguous  # the stand-in did receive it: it may yet be sent
    assert len(twilio_standin.requests) == 1


def test_a_refused_connection_is_retryable_and_surely_not_sent(twilio_standin, settings):
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{free_port()}"

    error = error_of(send)

    assert not error.permanent
    assert not error.ambiguous
    assert twilio_standin.requests == []


def test_wrong_credentials_fail_permanently(twilio_standin, settings):
    settings.TWILIO_AUTH_TOKEN = "not-the-token"

    error = error_of(send)

    assert (error.status, error.code, error.permanent) == (401, 20003, True)


def test_an_unknown_message_is_a_permanent_404(twilio_standin):
    error = error_of(lambda: gateway.message_fetch(sid="SM" + "0" * 32))

    assert (error.status, error.code, error.permanent) == (404, 20404, True)


def test_a_provider_error_survives_pickling_with_everything_it_knows(twilio_standin):
    twilio_standin.fail_next(status=429, retry_after=3)
    error = error_of(send)

    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is ProviderError and str(copy) == str(error)
    assert (copy.status, copy.code, copy.permanent, copy.retry_after, copy.ambiguous) == (
        429,
        20429,
        False,
        3.0,
        False,
    )
    assert copy.details == error.details and copy.details["code"] == 20429


@pytest.mark.parametrize(
    ("status", "code", "permanent"),
    [
        (400, None, True),
        (403, None, True),
        (408, None, False),
        (429, None, False),
        (500, None, False),
        (502, 20500, False),
        (400, 20429, False),
        (None, None, False),
        (None, 21211, True),
    ],
)
def test_is_permanent_reads_status_and_code(status, code, permanent):
    assert gateway.is_permanent(status=status, code=code) is permanent


# --- webhooks signed as Twilio signs them ---------------------------------------------------


def test_a_status_callback_signature_verifies_and_a_forged_one_does_not(
    twilio_standin, callback_sink
):
    send(status_callback=f"{callback_sink.base_url}/webhooks/twilio/status?org=7")
    twilio_standin.wait_for_callbacks()

    received = callback_sink.received
    assert [w.form["MessageStatus"] for w in received] == ["sent", "delivered"]
    for webhook in received:
        signature = webhook.headers["X-Twilio-Signature"]
        form = QueryDict(mutable=True)
        for key, value in webhook.form.items():
            form[key] = value
        assert gateway.webhook_signature_valid(url=webhook.url, params=form, signature=signature)

        forged = {**webhook.form, "MessageStatus": "failed"}
        assert not gateway.webhook_signature_valid(
            url=webhook.url, params=forged, signature=signature
        )
        other_url = webhook.url.replace("org=7", "org=8")
        assert not gateway.webhook_signature_valid(
            url=other_url, params=webhook.form, signature=signature
        )
        assert not gateway.webhook_signature_valid(
            url=webhook.url, params=webhook.form, signature=""
        )


def test_a_signature_made_with_another_token_does_not_verify(
    twilio_standin, callback_sink, settings
):
    send(status_callback=f"{callback_sink.base_url}/status")
    twilio_standin.wait_for_callbacks()
    webhook = callback_sink.received[0]

    settings.TWILIO_AUTH_TOKEN = "another-token"
    signature = webhook.headers["X-Twilio-Signature"]
    assert not gateway.webhook_signature_valid(
        url=webhook.url, params=webhook.form, signature=signature
    )


def test_nothing_verifies_without_an_auth_token(settings):
    settings.TWILIO_AUTH_TOKEN = ""
    from tests.twilio_standin import twilio_signature

    signature = twilio_signature("", "https://app.example/status", {"MessageSid": "SM1"})
    assert not gateway.webhook_signature_valid(
        url="https://app.example/status", params={"MessageSid": "SM1"}, signature=signature
    )


# --- reading messages back ------------------------------------------------------------------


def test_message_fetch_reports_the_final_status_and_error_code(twilio_standin, callback_sink):
    twilio_standin.deliver_as(PARENT, final_status="undelivered", error_code=30005)
    sent = send(status_callback=f"{callback_sink.base_url}/status")
    twilio_standin.wait_for_callbacks()

    info = gateway.message_fetch(sid=sent.sid)

    assert (info.sid, info.status, info.error_code) == (sent.sid, "undelivered", 30005)
    assert (info.to, info.from_, info.body) == (PARENT, SENDER, "Gym closed today")
    assert info.date_sent is not None


def test_messages_list_finds_the_pairs_recent_messages_even_still_queued(twilio_standin):
    twilio_standin.callback_delay = 60  # they stay queued, as after a crash mid-send
    before = datetime.now(UTC) - timedelta(minutes=1)
    mine = [send(body=f"message {i}").sid for i in range(3)]
    send(to="+12025550999")  # another recipient
    gateway.sms_send(to=PARENT, from_="+14155550199", body="another sender")

    found = gateway.messages_list(to=PARENT, from_=SENDER, sent_after=before)

    assert [m.sid for m in found] == list(reversed(mine))
    assert {m.status for m in found} == {"queued"}
    assert [m.body for m in found] == ["message 2", "message 1", "message 0"]
    (listing,) = [r for r in twilio_standin.requests if r.method == "GET"]
    assert listing.query["To"] == PARENT and listing.query["From"] == SENDER
    assert "DateSent>" not in listing.query


def test_messages_list_leaves_out_messages_older_than_asked(twilio_standin):
    send(body="old")
    later = datetime.now(UTC) + timedelta(minutes=5)

    assert gateway.messages_list(to=PARENT, from_=SENDER, sent_after=later) == []


# --- calls ----------------------------------------------------------------------------------


def test_call_create_places_a_call_with_machine_detection(twilio_standin, callback_sink):
    call = gateway.call_create(
        to=PARENT,
        from_=SENDER,
        url="https://app.example/voice/twiml/12",
        status_callback=f"{callback_sink.base_url}/voice/status",
        machine_detection="DetectMessageEnd",
        machine_detection_timeout=30,
        status_callback_event=["initiated", "answered", "completed"],
    )

    assert call.sid.startswith("CA") and call.status == "queued"
    (request,) = twilio_standin.requests
    assert request.form["Url"] == "https://app.example/voice/twiml/12"
    assert request.form["Method"] == "POST"
    assert request.form["MachineDetection"] == "DetectMessageEnd"
    assert request.form["MachineDetectionTimeout"] == "30"
    assert request.form["StatusCallbackMethod"] == "POST"
    assert request.form_lists["StatusCallbackEvent"] == ["initiated", "answered", "completed"]
    twilio_standin.wait_for_callbacks()
    statuses = [w.form["CallStatus"] for w in callback_sink.received]
    assert statuses == ["initiated", "in-progress", "completed"]
    assert gateway.call_fetch(sid=call.sid).answered_by == "human"


def test_a_call_can_be_hung_up(twilio_standin):
    twilio_standin.callback_delay = 60  # still ringing when we hang up
    call = gateway.call_create(to=PARENT, from_=SENDER, url="https://app.example/twiml")

    ended = gateway.call_update(sid=call.sid, status="completed")

    assert ended.status == "completed"
    assert twilio_standin.requests[-1].form == {"Status": "completed"}


# --- phone numbers --------------------------------------------------------------------------


def test_numbers_search_asks_for_sms_capable_local_numbers_in_the_area_code(twilio_standin):
    found = gateway.numbers_search(country="us", area_code="212", limit=5)

    assert len(found) == 5
    assert all(n.phone_number.startswith("+1212") and n.sms for n in found)
    (request,) = twilio_standin.requests
    assert request.path.endswith("/AvailablePhoneNumbers/US/Local.json")
    assert request.query["AreaCode"] == "212"
    assert request.query["SmsEnabled"] == "true"


def test_numbers_search_refuses_an_area_code_that_is_not_digits(twilio_standin):
    with pytest.raises(ValueError, match="digits"):
        gateway.numbers_search(country="US", area_code="21a")
    assert twilio_standin.requests == []


def test_a_number_is_bought_with_its_webhooks_updated_and_released(twilio_standin):
    number = gateway.number_buy(
        phone_number="+12122011000",
        sms_url="https://app.example/webhooks/twilio/sms",
        voice_url="https://app.example/webhooks/twilio/voice",
        status_callback="https://app.example/webhooks/twilio/number",
    )

    assert number.sid.startswith("PN") and number.phone_number == "+12122011000"
    assert number.sms_url == "https://app.example/webhooks/twilio/sms"
    bought = twilio_standin.requests[0].form
    assert bought["SmsMethod"] == bought["VoiceMethod"] == bought["StatusCallbackMethod"] == "POST"
    assert bought["VoiceUrl"] == "https://app.example/webhooks/twilio/voice"

    updated = gateway.number_update(sid=number.sid, sms_url="https://new.example/sms")
    assert updated.sms_url == "https://new.example/sms"
    assert updated.voice_url == "https://app.example/webhooks/twilio/voice"
    assert twilio_standin.requests[1].form == {
        "SmsUrl": "https://new.example/sms",
        "SmsMethod": "POST",
    }

    gateway.number_release(sid=number.sid)
    assert twilio_standin.requests[2].method == "DELETE"
    assert twilio_standin.numbers == {}


def test_buying_a_number_someone_else_took_fails_permanently(twilio_standin):
    twilio_standin.error_for_number("+12122011000", 21422)

    error = error_of(
        lambda: gateway.number_buy(
            phone_number="+12122011000",
            sms_url="https://app.example/sms",
            voice_url="https://app.example/voice",
            status_callback="https://app.example/number",
        )
    )

    assert (error.code, error.permanent) == (21422, True)


# --- many threads, one client ---------------------------------------------------------------


def test_many_threads_share_the_client_and_each_send_arrives_exactly_once(twilio_standin):
    twilio_standin.latency = 0.05  # keep requests in flight together
    bodies = [f"message {i}" for i in range(500)]
    barrier = threading.Barrier(100)

    def send_one(body: str) -> str:
        if int(body.split()[1]) < 100:
            barrier.wait(timeout=30)  # the first hundred start together
        return send(body=body).sid

    with ThreadPoolExecutor(max_workers=100) as pool:
        sids = list(pool.map(send_one, bodies))

    assert len(set(sids)) == 500
    received = [r.form["Body"] for r in twilio_standin.requests]
    assert sorted(received) == sorted(bodies)
    messages = twilio_standin.messages
    assert sorted(messages) == sorted(sids)
    assert {messages[sid]["Body"] for sid in sids} == set(bodies)
    assert twilio_standin.stats()["max_in_flight"] > 10


# --- the event-loop variant -----------------------------------------------------------------


def send_async(*bodies: str, **kwargs) -> list:
    """sms_send_async for each body inside one async_session; errors come back as values."""

    async def run() -> list:
        async with gateway.async_session():
            sends = (
                gateway.sms_send_async(to=PARENT, from_=SENDER, body=body, **kwargs)
                for body in bodies
            )
            return await asyncio.gather(*sends, return_exceptions=True)

    return asyncio.run(run())


def test_sms_send_async_sends_the_same_request_as_sms_send(twilio_standin):
    (sent,) = send_async("Gym closed today", status_callback="https://app.example/status")

    (request,) = twilio_standin.requests
    assert (request.method, request.path) == ("POST", MESSAGES_PATH)
    credentials = base64.b64encode(f"{STANDIN_ACCOUNT_SID}:{STANDIN_AUTH_TOKEN}".encode())
    assert request.headers["Authorization"] == f"Basic {credentials.decode()}"
    assert request.form == {
        "To": PARENT,
        "From": SENDER,
        "Body": "Gym closed today",
        "StatusCallback": "https://app.example/status",
    }
    assert isinstance(sent, gateway.SentMessage)
    assert sent.sid in twilio_standin.messages and sent.num_segments == 1


def test_sms_send_async_keeps_many_in_flight_on_one_loop(twilio_standin):
    twilio_standin.latency = 0.05

    results = send_async(*(f"message {i}" for i in range(300)))

    assert all(isinstance(r, gateway.SentMessage) for r in results)
    assert len({r.sid for r in results}) == 300
    assert sorted(r.form["Body"] for r in twilio_standin.requests) == sorted(
        f"message {i}" for i in range(300)
    )
    assert twilio_standin.stats()["max_in_flight"] > 10


def test_sms_send_async_maps_errors_like_sms_send(twilio_standin, settings):
    twilio_standin.error_for_number(PARENT, 21610)
    (unsubscribed,) = send_async("hi")
    assert isinstance(unsubscribed, ProviderError)
    assert (unsubscribed.status, unsubscribed.code, unsubscribed.permanent) == (400, 21610, True)

    twilio_standin.reset()
    twilio_standin.fail_next(status=429, retry_after=2)
    (throttled,) = send_async("hi")
    assert (throttled.status, throttled.permanent, throttled.retry_after) == (429, False, 2.0)

    settings.TWILIO_TIMEOUT = 0.2
    twilio_standin.latency = 1.0
    (slow,) = send_async("hi")
    assert isinstance(slow, ProviderError)
    assert (slow.permanent, slow.ambiguous, slow.status) == (False, True, None)


def test_sms_send_async_reports_a_refused_connection_as_surely_not_sent(twilio_standin, settings):
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{free_port()}"

    (refused,) = send_async("hi")

    assert isinstance(refused, ProviderError)
    assert (refused.permanent, refused.ambiguous) == (False, False)


def test_sms_send_async_outside_a_session_uses_a_client_kept_for_its_loop(twilio_standin):
    async def twice():
        first = await gateway.sms_send_async(to=PARENT, from_=SENDER, body="hi")
        second = await gateway.sms_send_async(to=PARENT, from_=SENDER, body="again")
        return first, second

    first, second = asyncio.run(twice())
    assert first.sid != second.sid
    assert [r.form["Body"] for r in twilio_standin.requests] == ["hi", "again"]


def test_the_loop_client_follows_a_change_of_settings_and_back(twilio_standin, settings):
    """The settings a client is built from are read once, then again after a TWILIO_* setting
    changes: a send after the change goes where the settings now say, and back after."""
    other = TwilioStandin(account_sid=STANDIN_ACCOUNT_SID, auth_token=STANDIN_AUTH_TOKEN)

    async def send(body: str) -> None:
        await gateway.sms_send_async(to=PARENT, from_=SENDER, body=body)

    async def three() -> None:
        await send("first")
        with override_settings(**twilio_bases(other.base_url)):
            await send("elsewhere")
        await send("back")

    with other:
        asyncio.run(three())
        assert [r.form["Body"] for r in other.requests] == ["elsewhere"]
    assert [r.form["Body"] for r in twilio_standin.requests] == ["first", "back"]


def test_sms_send_async_through_a_messaging_service_sends_no_from(twilio_standin):
    async def send():
        return await gateway.sms_send_async(
            to=PARENT, from_=SENDER, body="hi", messaging_service_sid="MG" + "1" * 32
        )

    asyncio.run(send())
    (request,) = twilio_standin.requests
    assert request.form["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in request.form
