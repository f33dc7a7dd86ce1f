"""The Twilio stand-in itself, spoken to over plain HTTP (no SDK, no gateway, no database).

Other tests believe what it says about Twilio, so here it is held to Twilio's own API
description (../shared/twilio): the same fields, error codes and signatures.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pytest
import requests
from twilio.request_validator import RequestValidator

from tests.broadcasts.conftest import TWILIO_SPEC
from tests.twilio_standin import (
    CallbackSink,
    TwilioStandin,
    count_segments,
    max_in_window,
    twilio_signature,
)
from tests.twilio_standin.process import StandinClient, standin_process

SID = "AC" + "f" * 32
TOKEN = "standin-own-tests"
SENDER = "+14155550100"
PARENT = "+12025550111"


@pytest.fixture
def standin():
    with TwilioStandin(account_sid=SID, auth_token=TOKEN, callback_delay=0.01) as server:
        yield server


@pytest.fixture
def sink():
    with CallbackSink() as server:
        yield server


def api(standin: TwilioStandin, method: str, path: str, **kwargs) -> requests.Response:
    url = f"{standin.base_url}/2010-04-01/Accounts/{SID}/{path}"
    kwargs.setdefault("auth", (SID, TOKEN))
    return requests.request(method, url, timeout=10, **kwargs)


def send(standin: TwilioStandin, **form: str) -> requests.Response:
    return api(standin, "POST", "Messages.json", data={"To": PARENT, "From": SENDER, **form})


def spec_example(path: str, method: str, status: str) -> dict:
    spec = json.loads(TWILIO_SPEC.read_text())
    operation = spec["paths"][f"/2010-04-01/Accounts/{{AccountSid}}/{path}"][method]
    examples = operation["responses"][status]["content"]["application/json"]["examples"]
    return next(iter(examples.values()))["value"]


# --- shaped like Twilio ---------------------------------------------------------------------


def test_a_message_has_the_fields_of_twilios_own_example(standin):
    response = send(standin, Body="Gym closed today", StatusCallback="https://app.example/s")

    assert response.status_code == 201
    message = response.json()
    assert set(message) == set(spec_example("Messages.json", "post", "201"))
    assert re.fullmatch(r"SM[0-9a-f]{32}", message["sid"])
    assert message["uri"] == f"/2010-04-01/Accounts/{SID}/Messages/{message['sid']}.json"
    assert (message["status"], message["num_segments"], message["date_sent"]) == (
        "queued",
        "1",
        None,
    )
    assert parsedate_to_datetime(message["date_created"]).tzinfo is not None
    assert standin.messages[message["sid"]]["Body"] == "Gym closed today"


def test_calls_and_numbers_have_the_fields_of_twilios_own_examples(standin):
    call = api(
        standin, "POST", "Calls.json", data={"To": PARENT, "From": SENDER, "Url": "https://a.b/t"}
    ).json()
    number = api(standin, "POST", "IncomingPhoneNumbers.json", data={"PhoneNumber": PARENT}).json()
    available = api(standin, "GET", "AvailablePhoneNumbers/US/Local.json").json()

    assert set(call) == set(spec_example("Calls.json", "post", "201"))
    assert re.fullmatch(r"CA[0-9a-f]{32}", call["sid"]) and call["status"] == "queued"
    assert set(number) == set(spec_example("IncomingPhoneNumbers.json", "post", "201"))
    assert re.fullmatch(r"PN[0-9a-f]{32}", number["sid"])
    local = spec_example("AvailablePhoneNumbers/{CountryCode}/Local.json", "get", "200")
    assert set(available) == set(local)
    assert set(available["available_phone_numbers"][0]) == set(local["available_phone_numbers"][0])


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"To": ""}, 21604),
        ({"From": ""}, 21603),
        ({}, 21602),  # no Body
        ({"To": "555-0111", "Body": "x"}, 21211),
        ({"From": "gym", "Body": "x"}, 21212),
        ({"Body": "x" * 1601}, 21617),
        ({"Body": "x", "StatusCallback": "not a url"}, 21609),
    ],
)
def test_an_invalid_message_gets_twilios_400_and_code(standin, form, code):
    response = send(standin, **form)

    assert response.status_code == 400
    assert response.json() == {
        "code": code,
        "message": response.json()["message"],
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": 400,
    }
    assert standin.messages == {}


def test_a_messaging_service_may_stand_for_the_sender(standin):
    response = api(
        standin,
        "POST",
        "Messages.json",
        data={"To": PARENT, "MessagingServiceSid": "MG" + "1" * 32, "Body": "x"},
    )

    assert (response.status_code, response.json()["status"]) == (201, "accepted")


@pytest.mark.parametrize(
    ("body", "parts"),
    [
        ("x" * 160, 1),
        ("x" * 161, 2),
        ("x" * 306, 2),
        ("x" * 307, 3),
        ("[" * 80, 1),  # GSM-7 extension characters take two septets
        ("[" * 81, 2),
        ("é" * 160, 1),  # in the GSM-7 alphabet
        ("ó" * 70, 1),  # is not: UCS-2
        ("ó" * 71, 2),
        ("🌧" * 35, 1),  # two UTF-16 units each
        ("🌧" * 36, 2),
    ],
)
def test_it_counts_parts_as_carriers_split_them(body, parts):
    assert count_segments(body) == parts


# --- who may ask, and injected failures -----------------------------------------------------


def test_it_refuses_requests_without_the_accounts_basic_auth(standin):
    url = f"{standin.base_url}/2010-04-01/Accounts/{SID}/Messages.json"
    form = {"To": PARENT, "From": SENDER, "Body": "x"}
    for auth in (None, (SID, "wrong"), ("AC" + "0" * 32, TOKEN)):
        response = requests.post(url, data=form, auth=auth, timeout=10)

        assert response.status_code == 401
        assert response.json()["code"] == 20003
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert standin.messages == {}
    assert len(standin.requests) == 3  # refused ones are recorded too


def test_another_accounts_path_is_not_found(standin):
    response = requests.get(
        f"{standin.base_url}/2010-04-01/Accounts/{'AC' + '0' * 32}/Messages.json",
        auth=(SID, TOKEN),
        timeout=10,
    )

    assert (response.status_code, response.json()["code"]) == (404, 20404)


def test_failures_are_served_in_order_then_it_recovers(standin):
    standin.fail_next(status=500, count=2)
    standin.fail_next(status=429, retry_after=1.5)

    answers = [send(standin, Body=f"try {i}") for i in range(4)]

    assert [r.status_code for r in answers] == [500, 500, 429, 201]
    assert [r.json().get("code") for r in answers[:3]] == [20500, 20500, 20429]
    assert answers[2].headers["Retry-After"] == "1.5"
    assert "Retry-After" not in answers[0].headers
    (accepted,) = standin.messages.values()
    assert accepted["Body"] == "try 3"


def test_error_for_number_refuses_that_number_only(standin):
    standin.error_for_number(PARENT, 21610)

    refused = send(standin, Body="x")
    other = send(standin, To="+12025550112", Body="x")

    assert (refused.status_code, refused.json()["code"]) == (400, 21610)
    assert other.status_code == 201


def test_it_records_every_request_with_its_form_query_and_headers(standin):
    send(standin, Body="hello")
    api(standin, "GET", "Messages.json", params={"To": PARENT})

    post, get = standin.requests
    assert (post.method, post.form["Body"], post.headers["Content-Type"]) == (
        "POST",
        "hello",
        "application/x-www-form-urlencoded",
    )
    assert (get.method, get.query, get.form) == ("GET", {"To": PARENT}, {})
    assert post.time <= get.time
    assert requests.get(f"{standin.base_url}/_standin/stats", timeout=10).json()["requests"] == 2


def test_reset_forgets_everything(standin):
    standin.error_for_number(PARENT, 21211)
    standin.fail_next(status=500)
    send(standin, Body="x")
    standin.reset()

    assert standin.requests == [] and standin.messages == {}
    assert send(standin, Body="x").status_code == 201


# --- status callbacks -----------------------------------------------------------------------


def test_each_message_is_called_back_sent_then_delivered_signed_like_twilio(standin, sink):
    callback = f"{sink.base_url}/webhooks/twilio/status?org=3"
    sid = send(standin, Body="x", StatusCallback=callback).json()["sid"]
    standin.wait_for_callbacks()

    received = sink.received
    assert [w.form["MessageStatus"] for w in received] == ["sent", "delivered"]
    validator = RequestValidator(TOKEN)
    for webhook in received:
        assert webhook.url == callback
        assert webhook.form["MessageSid"] == webhook.form["SmsSid"] == sid
        assert webhook.form["AccountSid"] == SID
        assert (webhook.form["To"], webhook.form["From"]) == (PARENT, SENDER)
        assert "ErrorCode" not in webhook.form
        signature = webhook.headers["X-Twilio-Signature"]
        assert validator.validate(webhook.url, webhook.form, signature)
        assert signature == twilio_signature(TOKEN, callback, webhook.form)
    status = api(standin, "GET", f"Messages/{sid}.json").json()
    assert status["status"] == "delivered" and status["date_sent"] is not None


@pytest.mark.parametrize(
    ("final", "code", "statuses"),
    [
        ("undelivered", 30005, ["sent", "undelivered"]),
        ("failed", 30008, ["failed"]),  # never got as far as sent
    ],
)
def test_deliver_as_sets_the_final_status_and_error_code(standin, sink, final, code, statuses):
    standin.deliver_as(PARENT, final_status=final, error_code=code)

    sid = send(standin, Body="x", StatusCallback=f"{sink.base_url}/s").json()["sid"]
    standin.wait_for_callbacks()

    assert [w.form["MessageStatus"] for w in sink.received] == statuses
    assert sink.received[-1].form["ErrorCode"] == str(code)
    fetched = api(standin, "GET", f"Messages/{sid}.json").json()
    assert (fetched["status"], fetched["error_code"]) == (final, code)


def test_final_callbacks_only_skips_the_sent_callback(standin, sink):
    standin.final_callbacks_only = True

    send(standin, Body="x", StatusCallback=f"{sink.base_url}/s")
    standin.wait_for_callbacks()

    assert [w.form["MessageStatus"] for w in sink.received] == ["delivered"]


def test_with_callbacks_off_the_status_still_moves_on(standin, sink):
    standin.callbacks_enabled = False
    sid = send(standin, Body="x", StatusCallback=f"{sink.base_url}/s").json()["sid"]

    deadline = time.monotonic() + 5
    while standin.messages[sid].status != "delivered" and time.monotonic() < deadline:
        time.sleep(0.01)

    assert standin.messages[sid].status == "delivered"
    assert standin.wait_for_callbacks() == [] and sink.received == []


def test_reset_drops_callbacks_still_waiting(standin, sink):
    standin.callback_delay = 0.3
    send(standin, Body="x", StatusCallback=f"{sink.base_url}/s")
    standin.reset()

    time.sleep(0.8)  # past both moments the callbacks were due
    assert sink.received == [] and standin.callbacks == []


def test_a_webhook_that_is_down_is_recorded_as_a_failed_callback(standin):
    with CallbackSink() as gone:
        url = f"{gone.base_url}/s"
    send(standin, Body="x", StatusCallback=url)

    callbacks = standin.wait_for_callbacks()

    assert len(callbacks) == 2
    assert all(c.status is None and c.error for c in callbacks)


# --- listing --------------------------------------------------------------------------------


def test_the_message_list_pages_newest_first_and_follows_next_page_uri(standin):
    sids = [send(standin, Body=f"m{i}").json()["sid"] for i in range(120)]
    send(standin, To="+12025550999", Body="someone else")

    seen, pages = [], 0
    url = f"/2010-04-01/Accounts/{SID}/Messages.json?To=%2B12025550111&PageSize=50"
    while url:
        page = requests.get(standin.base_url + url, auth=(SID, TOKEN), timeout=10).json()
        seen += [m["sid"] for m in page["messages"]]
        url, pages = page["next_page_uri"], pages + 1

    assert pages == 3
    assert seen == list(reversed(sids))


def test_date_sent_filters_leave_out_messages_not_sent_yet(standin):
    standin.callback_delay = 60
    send(standin, Body="queued")

    listed = api(standin, "GET", "Messages.json", params={"DateSent>": "2000-01-01"}).json()
    everything = api(standin, "GET", "Messages.json").json()

    assert listed["messages"] == []
    assert len(everything["messages"]) == 1


# --- calls ----------------------------------------------------------------------------------


def call(standin: TwilioStandin, **form) -> requests.Response:
    data = {"To": PARENT, "From": SENDER, "Url": "https://app.example/twiml", **form}
    return api(standin, "POST", "Calls.json", data=data)


@pytest.mark.parametrize(
    ("form", "code"),
    [({"To": ""}, 21201), ({"From": ""}, 21213), ({"Url": ""}, 21205), ({"To": "x"}, 21211)],
)
def test_an_invalid_call_gets_twilios_400_and_code(standin, form, code):
    response = call(standin, **form)

    assert (response.status_code, response.json()["code"]) == (400, code)


def test_a_call_reports_the_events_asked_for_with_answered_by(standin, sink):
    standin.call_as(PARENT, answered_by="machine_end_beep", duration=42)
    events = ["initiated", "ringing", "answered", "completed"]
    sid = call(
        standin,
        StatusCallback=f"{sink.base_url}/voice",
        MachineDetection="DetectMessageEnd",
        StatusCallbackEvent=events,
    ).json()["sid"]
    standin.wait_for_callbacks()

    forms = [w.form for w in sink.received]
    assert [f["CallStatus"] for f in forms] == ["initiated", "ringing", "in-progress", "completed"]
    assert [f["SequenceNumber"] for f in forms] == ["0", "1", "2", "3"]
    assert forms[-1]["CallDuration"] == "42" and forms[-1]["AnsweredBy"] == "machine_end_beep"
    assert all(f["CallSid"] == sid for f in forms)
    assert api(standin, "GET", f"Calls/{sid}.json").json()["status"] == "completed"


def test_a_busy_call_only_reports_completion_by_default(standin, sink):
    standin.call_as(PARENT, final_status="busy")

    call(standin, StatusCallback=f"{sink.base_url}/voice")
    standin.wait_for_callbacks()

    (completed,) = sink.received
    assert (completed.form["CallStatus"], completed.form["CallDuration"]) == ("busy", "0")


def test_hanging_up_ends_the_call_and_reports_it(standin, sink):
    standin.callback_delay = 30  # it would ring for a long while
    sid = call(standin, StatusCallback=f"{sink.base_url}/voice").json()["sid"]

    hung_up = api(standin, "POST", f"Calls/{sid}.json", data={"Status": "completed"})
    standin.wait_for_callbacks()

    assert hung_up.json()["status"] == "completed"
    assert [w.form["CallStatus"] for w in sink.received] == ["completed"]
    assert standin.calls[sid].updates == [{"Status": "completed"}]


# --- numbers --------------------------------------------------------------------------------


def test_numbers_are_bought_listed_updated_and_released(standin):
    available = api(
        standin, "GET", "AvailablePhoneNumbers/US/Local.json", params={"AreaCode": "212"}
    )
    first = available.json()["available_phone_numbers"][0]["phone_number"]
    assert first.startswith("+1212")

    bought = api(
        standin,
        "POST",
        "IncomingPhoneNumbers.json",
        data={"PhoneNumber": first, "SmsUrl": "https://app.example/sms"},
    ).json()
    again = api(standin, "POST", "IncomingPhoneNumbers.json", data={"PhoneNumber": first})
    listed = api(standin, "GET", "IncomingPhoneNumbers.json", params={"PhoneNumber": first})
    updated = api(
        standin,
        "POST",
        f"IncomingPhoneNumbers/{bought['sid']}.json",
        data={"VoiceUrl": "https://app.example/voice"},
    ).json()
    still_for_sale = api(
        standin, "GET", "AvailablePhoneNumbers/US/Local.json", params={"AreaCode": "212"}
    )
    released = api(standin, "DELETE", f"IncomingPhoneNumbers/{bought['sid']}.json")
    gone = api(standin, "GET", f"IncomingPhoneNumbers/{bought['sid']}.json")

    assert (bought["sms_url"], bought["sms_method"]) == ("https://app.example/sms", "POST")
    assert (again.status_code, again.json()["code"]) == (400, 21422)
    assert [n["sid"] for n in listed.json()["incoming_phone_numbers"]] == [bought["sid"]]
    assert (updated["sms_url"], updated["voice_url"]) == (
        "https://app.example/sms",
        "https://app.example/voice",
    )
    assert first not in {
        n["phone_number"] for n in still_for_sale.json()["available_phone_numbers"]
    }
    assert (released.status_code, released.text) == (204, "")
    assert (gone.status_code, gone.json()["code"]) == (404, 20404)


def test_unknown_paths_are_twilio_404s(standin):
    response = api(standin, "GET", "Recordings.json")

    assert (response.status_code, response.json()["code"]) == (404, 20404)
    assert urlsplit(standin.base_url).hostname == "127.0.0.1"


# --- the accepted log: pacing and duplicates --------------------------------------------------


def test_it_logs_each_accepted_message_with_monotonic_times(standin):
    before = time.monotonic()
    first = send(standin, Body="one").json()["sid"]
    standin.error_for_number("+12025550113", 21211)
    send(standin, To="+12025550113", Body="refused")
    second = send(standin, To="+12025550112", Body="two").json()["sid"]

    log = standin.accepted
    assert [(m.sid, m.from_, m.to, m.body) for m in log] == [
        (first, SENDER, PARENT, "one"),
        (second, SENDER, "+12025550112", "two"),
    ]
    assert before <= log[0].received <= log[0].at <= log[1].at <= time.monotonic()
    assert standin.accepted_since(1) == log[1:]
    assert standin.stats()["accepted"] == 2


@pytest.mark.parametrize(
    ("times", "most"),
    [
        ([], 0),
        ([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], 10),  # 10/s exactly
        ([0.0, 0.999, 1.0, 1.5, 1.9], 4),
        ([5.0, 0.5, 0.6], 2),  # not sorted
    ],
)
def test_max_in_window_counts_a_half_open_sliding_window(times, most):
    assert max_in_window(times, 1.0) == most


def test_max_in_window_looks_at_one_sender_or_all(standin):
    for i in range(3):
        send(standin, Body=f"a{i}")
    send(standin, From="+14155550101", Body="b")

    assert standin.max_in_window(seconds=1.0, from_=SENDER) == 3
    assert standin.max_in_window(seconds=1.0, from_="+14155550101") == 1
    assert standin.max_in_window(seconds=1.0) == 4
    assert standin.max_in_window(seconds=1e-9) == 1


def test_duplicates_counts_each_to_and_body_accepted_more_than_once(standin):
    send(standin, Body="gym closed")
    send(standin, Body="gym closed")
    send(standin, Body="gym closed")
    send(standin, Body="another text")
    send(standin, To="+12025550112", Body="gym closed")

    assert standin.duplicates() == 1
    assert standin.duplicate_counts() == {(PARENT, "gym closed"): 3}


# --- a back-pressure storm ----------------------------------------------------------------------


def test_fail_randomly_answers_about_the_rates_asked_and_creates_nothing_for_them(standin):
    standin.fail_randomly({429: 0.3, 503: 0.1}, retry_after=2, seed=7)

    answers = [send(standin, Body=f"m{i}") for i in range(400)]

    codes = [r.status_code for r in answers]
    assert 0.2 < codes.count(429) / 400 < 0.4
    assert 0.04 < codes.count(503) / 400 < 0.16
    assert set(codes) == {201, 429, 503}
    limited = next(r for r in answers if r.status_code == 429)
    assert (limited.json()["code"], limited.headers["Retry-After"]) == (20429, "2")
    assert len(standin.messages) == len(standin.accepted) == codes.count(201)
    standin.fail_randomly({})
    assert all(send(standin, Body="calm").status_code == 201 for _ in range(20))


def test_fail_randomly_refuses_rates_that_are_not_probabilities(standin):
    with pytest.raises(ValueError):
        standin.fail_randomly({429: 0.8, 503: 0.3})


def test_fail_next_is_served_before_the_random_failures(standin):
    standin.fail_randomly({429: 0.0})
    standin.fail_next(status=500)

    assert [send(standin, Body="x").status_code for _ in range(2)] == [500, 201]


# --- Messaging Services -------------------------------------------------------------------------

SERVICE = "MG" + "2" * 32
POOL = ["+14155550120", "+14155550121", "+14155550122"]


def test_a_messaging_service_sends_from_a_number_of_its_pool(standin, sink):
    standin.messaging_service(SERVICE, POOL)
    standin.callback_delay = 0.2
    created = api(
        standin,
        "POST",
        "Messages.json",
        data={
            "To": PARENT,
            "MessagingServiceSid": SERVICE,
            "Body": "x",
            "StatusCallback": f"{sink.base_url}/s",
        },
    ).json()

    # Like Twilio: no sender yet while the message is "accepted".
    assert (created["status"], created["from"], created["num_segments"]) == ("accepted", None, "0")
    assert created["messaging_service_sid"] == SERVICE
    standin.wait_for_callbacks()
    picked = api(standin, "GET", f"Messages/{created['sid']}.json").json()["from"]
    assert picked in POOL
    assert {w.form["From"] for w in sink.received} == {picked}
    assert all(w.form["MessagingServiceSid"] == SERVICE for w in sink.received)
    (logged,) = standin.accepted
    assert (logged.from_, logged.messaging_service_sid) == (picked, SERVICE)
    assert standin.max_in_window(from_=picked) == standin.max_in_window(from_=SERVICE) == 1


def test_the_same_number_always_gets_the_same_sender_and_the_list_finds_it_by_from(standin):
    standin.messaging_service(SERVICE, POOL)
    standin.callback_delay = 0.01
    targets = [f"+120255502{i:02d}" for i in range(30)]
    for to in targets * 2:
        form = {"To": to, "MessagingServiceSid": SERVICE, "Body": "x"}
        assert api(standin, "POST", "Messages.json", data=form).status_code == 201
    time.sleep(0.05)

    by_to: dict[str, set[str]] = {}
    for message in standin.accepted:
        by_to.setdefault(message.to, set()).add(message.from_)
    assert all(len(senders) == 1 for senders in by_to.values())
    assert len({s for senders in by_to.values() for s in senders}) > 1  # the pool is used
    listed = {
        number: api(
            standin, "GET", "Messages.json", params={"From": number, "PageSize": 1000}
        ).json()["messages"]
        for number in POOL
    }
    assert sum(len(page) for page in listed.values()) == 60
    assert all(m["from"] == number for number, page in listed.items() for m in page)


def test_a_messaging_service_needs_numbers(standin):
    with pytest.raises(ValueError):
        standin.messaging_service(SERVICE, [])


# --- the Messages list, as a reconcile reads it ---------------------------------------------------


def test_the_list_filters_by_from_to_and_date_sent_after_with_pages_up_to_1000(standin):
    standin.callback_delay = 0.01
    for i in range(1205):
        send(standin, To=f"+1202556{i:04d}", Body=f"m{i}")
    send(standin, From="+14155550101", Body="another sender")
    time.sleep(0.05)
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))

    seen, sizes = [], []
    page = api(
        standin,
        "GET",
        "Messages.json",
        params={"From": SENDER, "DateSent>": since, "PageSize": 5000},
    ).json()
    while True:
        sizes.append(page["page_size"])
        seen += page["messages"]
        if not page["next_page_uri"]:
            break
        url = standin.base_url + page["next_page_uri"]
        page = requests.get(url, auth=(SID, TOKEN), timeout=10).json()

    assert sizes == [1000, 1000]
    assert len(seen) == 1205 and len({m["sid"] for m in seen}) == 1205
    assert {m["from"] for m in seen} == {SENDER}
    later = api(standin, "GET", "Messages.json", params={"DateSent>": "2999-01-01T00:00:00Z"})
    assert later.json()["messages"] == []
    one = api(standin, "GET", "Messages.json", params={"To": "+12025560007"}).json()["messages"]
    assert [m["body"] for m in one] == ["m7"]


def test_messages_created_while_paging_do_not_shift_the_later_pages(standin):
    sids = [send(standin, Body=f"m{i}").json()["sid"] for i in range(30)]

    first = api(standin, "GET", "Messages.json", params={"PageSize": 10}).json()
    for i in range(5):
        send(standin, Body=f"new {i}")  # newest first: these land in front of page one
    seen = [m["sid"] for m in first["messages"]]
    url = first["next_page_uri"]
    while url:
        page = requests.get(standin.base_url + url, auth=(SID, TOKEN), timeout=10).json()
        seen += [m["sid"] for m in page["messages"]]
        url = page["next_page_uri"]

    assert seen == list(reversed(sids))


# --- in a process of its own, steered over HTTP ---------------------------------------------------


def test_the_standin_process_is_steered_and_read_over_http():
    with standin_process(latency=0.0, callbacks=False, account_sid=SID, auth_token=TOKEN) as url:
        client = StandinClient(url)
        client.messaging_service(SERVICE, POOL[:1])
        client.fail_next(status=503)

        def post(**form: str) -> requests.Response:
            return requests.post(
                f"{url}/2010-04-01/Accounts/{SID}/Messages.json",
                data={"To": PARENT, "Body": "x", **form},
                auth=(SID, TOKEN),
                timeout=10,
            )

        codes = [post(From=SENDER).status_code for _ in range(3)]
        post(MessagingServiceSid=SERVICE)
        client.fail_randomly({429: 1.0}, retry_after=1)
        storm = post(From=SENDER)
        client.fail_randomly({})

        assert codes == [503, 201, 201]
        assert (storm.status_code, storm.headers["Retry-After"]) == (429, "1")
        log = client.accepted()
        assert [m.from_ for m in log] == [SENDER, SENDER, POOL[0]]
        assert client.accepted(since=2) == log[2:]
        assert client.duplicates() == 1  # (PARENT, "x") three times
        assert client.duplicate_counts() == {(PARENT, "x"): 3}
        assert client.max_in_window(seconds=60, from_=SENDER) == 2
        stats = client.stats()
        assert (stats["requests"], stats["accepted"], stats["duplicates"]) == (5, 3, 1)
        client.reset()
        assert client.accepted() == [] and client.stats()["requests"] == 0


def test_the_standin_process_takes_latency_call_outcomes_and_shows_requests_and_calls():
    with standin_process(latency=0.0, callbacks=False, account_sid=SID, auth_token=TOKEN) as url:
        client = StandinClient(url)
        client.configure(latency=0.3)
        client.call_as(PARENT, final_status="busy")
        started = time.monotonic()
        placed = requests.post(
            f"{url}/2010-04-01/Accounts/{SID}/Calls.json",
            data={"To": PARENT, "From": SENDER, "Url": "https://example.test/twiml"},
            auth=(SID, TOKEN),
            timeout=10,
        )
        took = time.monotonic() - started
        client.configure(latency=0.0)

        assert placed.status_code == 201 and took >= 0.3
        [call] = client.calls()
        assert (call.sid, call.to, call.from_) == (placed.json()["sid"], PARENT, SENDER)
        assert abs(call.created_at - time.time()) < 60
        [request] = client.requests()
        assert (request.method, request.path) == ("POST", f"/2010-04-01/Accounts/{SID}/Calls.json")
        assert request.form["To"] == PARENT and request.monotonic >= started
        deadline = time.monotonic() + 10
        while client.calls()[0].status != "busy" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.calls()[0].status == "busy"
        with pytest.raises(urllib.error.HTTPError) as refused:
            client.call_as(PARENT, final_status="answered-ish")
        assert refused.value.code == 400
