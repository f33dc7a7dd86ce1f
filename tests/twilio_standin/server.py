"""A local stand-in for Twilio's REST API (2010-04-01), for tests and benchmarks.

It speaks the part of api.twilio.com that the gateway uses — Messages, Calls,
IncomingPhoneNumbers, AvailablePhoneNumbers/{Country}/Local — with the JSON shapes, error bodies
and status codes of the real service, and it calls back: every accepted message (and call) with
a StatusCallback gets its status callbacks POSTed and signed with X-Twilio-Signature exactly as
Twilio signs them, so a webhook under test can verify them.

Control it from Python (any thread):

    with TwilioStandin(account_sid=SID, auth_token=TOKEN, latency=0.1) as standin:
        standin.fail_next(status=429, count=2, retry_after=1)
        standin.error_for_number("+15005550001", 21211)
        standin.deliver_as("+15005550002", final_status="undelivered", error_code=30003)
        standin.fail_randomly({429: 0.3, 503: 0.1})            # a back-pressure storm
        standin.messaging_service("MG...", ["+14155550100", "+14155550101"])
        ...point TWILIO_API_BASE at standin.base_url, send...
        standin.wait_for_callbacks()
        standin.requests, standin.messages, standin.callbacks
        standin.accepted                       # every message it said 201 to, in order
        standin.max_in_window(seconds=1.0, from_="+14155550100"), standin.duplicates()

Run in a process of its own (`python -m tests.twilio_standin`), the same controls and counters
are reachable over HTTP under /_standin/ (see tests/twilio_standin/process.py, StandinClient).

Message lifecycle: queued (or accepted, with a MessagingServiceSid) at creation, "sent" after
`callback_delay`, then the final status (delivered unless `deliver_as` said otherwise) after
another `callback_delay`; "failed" goes straight from queued to failed, as on Twilio. GET shows
the status of the moment whether callbacks are on or not.

Messaging Services. A message created with MessagingServiceSid instead of From is sent from a
number of that service's pool (`messaging_service(sid, numbers)`; the same To always gets the
same number, like Twilio's sticky sender). As on Twilio, the create response says "accepted"
with `from` null and num_segments "0"; from its first move on (GET, the list, callbacks) it
shows the number picked, and the list's From filter finds it. A service never registered is
accepted too but never gets a From.

The accepted log. Every message answered 201 is appended to `accepted` with its monotonic
time (time.monotonic(), which on Linux is one clock for every process of the machine, so a
benchmark can compare it with its own): when the request arrived and when it was accepted
(after the injected latency). Pacing is measured on the accept times (`max_in_window`), and a
message sent twice is one (To, Body) accepted more than once (`duplicates`).

The Messages list pages newest first with PageSize up to 1000; its next_page_uri carries a
PageToken naming the last message of the page, so messages created while a client pages
through do not shift or repeat later pages (Twilio's tokens behave the same way).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import contextvars
import hmac
import operator
import os
import random
import re
import threading
import time
import zlib
from collections import Counter, deque
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email.utils import format_datetime
from hashlib import sha1
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
from aiohttp import web

from tests.twilio_standin._background import BackgroundServer
from tests.twilio_standin.messaging import MessagingHost
from tests.twilio_standin.registration import RegistrationHost

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "5" * 32
DEFAULT_AUTH_TOKEN = "standin-auth-token"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
FINAL_MESSAGE_STATUSES = {"delivered", "undelivered", "failed"}
FINAL_CALL_STATUSES = {"completed", "busy", "no-answer", "failed", "canceled"}
# What Twilio says for the per-number errors tests inject most; any other code gets a generic text.
ERROR_MESSAGES = {
    21211: "The 'To' number {number} is not a valid phone number.",
    21217: "Phone number does not appear to be valid",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the "
    "'To' number: {number}.",
    21421: "PhoneNumber is invalid",
    21422: "PhoneNumber {number} is not available.",
    21606: "The 'From' phone number provided is not a valid message-capable Twilio phone "
    "number for this destination.",
    21610: "Attempt to send to unsubscribed recipient",
    21612: "The 'To' phone number: {number}, is not currently reachable using the 'From' "
    "phone number via SMS.",
    21614: "'To' number {number} is not a valid mobile number",
    21635: "'To' number {number} cannot be a landline",
}
DEFAULT_DELIVERY_ERRORS = {"undelivered": 30003, "failed": 30008}
FAILURE_CODES = {429: 20429, 500: 20500, 502: 20500, 503: 20503}
FAILURE_MESSAGES = {429: "Too Many Requests", 503: "Service Unavailable"}


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the stand-in received it (form holds the last value of each key)."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    form_lists: dict[str, list[str]]
    headers: dict[str, str]
    time: float
    monotonic: float = 0.0


@dataclass(frozen=True, slots=True)
class AcceptedMessage:
    """One message the stand-in answered 201 to. `received` and `at` are time.monotonic():
    when its request arrived and when it was accepted (after the latency). `from_` is the
    number it goes out from: the From sent, or the one picked from the Messaging Service."""

    sid: str
    at: float
    received: float
    from_: str | None
    messaging_service_sid: str | None
    to: str
    body: str

    def to_json(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "at": self.at,
            "received": self.received,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "to": self.to,
            "body": self.body,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AcceptedMessage:
        return cls(
            sid=data["sid"],
            at=data["at"],
            received=data["received"],
            from_=data["from"],
            messaging_service_sid=data["messaging_service_sid"],
            to=data["to"],
            body=data["body"],
        )


def max_in_window(times: Iterable[float], seconds: float = 1.0) -> int:
    """The most of `times` that fall in any sliding window [t, t + seconds)."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def duplicate_counts(accepted: Iterable[AcceptedMessage]) -> dict[tuple[str, str], int]:
    """(To, Body) accepted more than once -> how many times."""
    counts = Counter((m.to, m.body) for m in accepted)
    return {key: n for key, n in counts.items() if n > 1}


try:
    RECORDED = web.RequestKey("recorded", RecordedRequest)  # aiohttp 3.14+
except AttributeError:  # pragma: no cover - older aiohttp take plain string keys
    RECORDED = "recorded"  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class CallbackRecord:
    """One status callback the stand-in POSTed: where, what, signed how, and the answer."""

    url: str
    params: dict[str, str]
    signature: str
    status: int | None
    error: str | None
    time: float


@dataclass(slots=True)
class StandinMessage:
    sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status_callback: str | None
    num_segments: int
    params: dict[str, str]
    created_at: float
    # (when, status, error code): the moves after creation, fixed when the message is accepted.
    timeline: list[tuple[float, str, int | None]] = field(default_factory=list)
    # The number of the Messaging Service's pool it goes out from (shown once it has moved on).
    picked_from: str | None = None

    def __getitem__(self, key: str) -> str:
        """A form parameter as the request sent it: message["Body"], message["To"]."""
        return self.params[key]

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.params.get(key, default)

    @property
    def initial_status(self) -> str:
        return "accepted" if self.messaging_service_sid else "queued"

    def sender(self, now: float) -> str | None:
        """`from` at `now`: a service's message has none until it leaves "accepted"."""
        if self.from_ or self.picked_from is None:
            return self.from_
        return None if self.state(now)[0] == "accepted" else self.picked_from

    def state(self, now: float) -> tuple[str, int | None, float | None]:
        """(status, error code, when it was sent) at `now`."""
        status, error_code, sent_at = self.initial_status, None, None
        for at, next_status, next_code in self.timeline:
            if at > now:
                break
            status, error_code = next_status, next_code
            if next_status == "sent":
                sent_at = at
        return status, error_code, sent_at

    @property
    def status(self) -> str:
        return self.state(time.time())[0]

    @property
    def error_code(self) -> int | None:
        return self.state(time.time())[1]


@dataclass(slots=True)
class StandinCall:
    sid: str
    to: str
    from_: str
    url: str | None
    status_callback: str | None
    callback_events: list[str]
    machine_detection: str | None
    answered_by: str | None
    duration: int
    params: dict[str, str]
    created_at: float
    timeline: list[tuple[float, str]] = field(default_factory=list)
    updates: list[dict[str, str]] = field(default_factory=list)

    def state(self, now: float) -> str:
        """The call's status at `now` ("initiated" is a callback event, queued on the resource)."""
        status = "queued"
        for at, next_status in self.timeline:
            if at > now:
                break
            status = next_status
        return "queued" if status == "initiated" else status

    @property
    def status(self) -> str:
        return self.state(time.time())


@dataclass(slots=True)
class StandinNumber:
    sid: str
    phone_number: str
    params: dict[str, str]
    created_at: float
    updated_at: float


@dataclass(slots=True)
class _Failure:
    status: int
    retry_after: float | None
    code: int


@dataclass(slots=True)
class _RandomFailures:
    # (cumulative probability, failure) in draw order; a draw past the last one passes.
    bands: list[tuple[float, _Failure]]
    chooser: random.Random


def _failure(status: int, retry_after: float | None) -> _Failure:
    return _Failure(status, retry_after, FAILURE_CODES.get(status, 20000 + status))


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 over the URL followed by each name+value, sorted."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), sha1).digest()
    return base64.b64encode(digest).decode()


_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


def count_segments(body: str) -> int:
    """Message parts as carriers split them: GSM-7 160/153 septets, else UCS-2 70/67 units."""
    if all(ch in _GSM7 or ch in _GSM7_EXTENDED for ch in body):
        units, single, multi = sum(2 if ch in _GSM7_EXTENDED else 1 for ch in body), 160, 153
    else:
        units, single, multi = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else -(-units // multi)


def _rfc2822(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return format_datetime(datetime.fromtimestamp(epoch, UTC).replace(microsecond=0))


def _sid(prefix: str) -> str:
    # Unique is all a sid must be; random is several times cheaper than uuid4's os.urandom.
    return f"{prefix}{random.getrandbits(128):032x}"


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None):
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status, headers=headers)


def _not_found(path: str) -> web.Response:
    return _error(404, 20404, f"The requested resource {path} was not found")


class TwilioStandin(BackgroundServer):
    """Twilio's REST API on 127.0.0.1 (a free port unless told), for tests and benchmarks."""

    def __init__(
        self,
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        latency: float = 0.0,
        callbacks: bool = True,
        callback_delay: float = 0.05,
        final_callbacks_only: bool = False,
        keep_requests: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        # Benchmarks: count requests without keeping each one's form and headers in memory.
        self.keep_requests = keep_requests
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.latency = latency
        self.callbacks_enabled = callbacks
        self.callback_delay = callback_delay
        # Benchmarks: skip the "sent" callback, half the outbound work for the same outcome.
        self.final_callbacks_only = final_callbacks_only
        self._lock = threading.Lock()
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Wakes a call's callback task when the call is updated (hung up) from outside.
        self._call_changed: dict[str, asyncio.Event] = {}
        # Which reset() generation the running callback task belongs to (stale ones stay quiet).
        self._task_generation: contextvars.ContextVar[int] = contextvars.ContextVar("generation")
        # Trust Hub, A2P 10DLC and toll-free verification (tests/twilio_standin/registration.py).
        self.registration = RegistrationHost(self)
        # Messaging Services and their sender pools (tests/twilio_standin/messaging.py).
        self.messaging = MessagingHost(self)
        self._reset_state()

    # --- control, from any thread -----------------------------------------------------------

    def fail_next(
        self, *, status: int = 429, count: int = 1, retry_after: float | None = None
    ) -> None:
        """Answer the next `count` API requests with `status` (429, 500, 503…) and Twilio's code."""
        failure = _failure(status, retry_after)
        with self._lock:
            self._failures.extend(failure for _ in range(count))

    def fail_randomly(
        self,
        rates: dict[int, float],
        *,
        retry_after: float | None = None,
        seed: int | None = None,
    ) -> None:
        """From now on answer each API request with status S with probability rates[S]
        (e.g. {429: 0.3, 503: 0.1}: a back-pressure storm), after the fail_next queue.
        Nothing is created by a request failed this way. `fail_randomly({})` stops it."""
        total = sum(rates.values())
        if any(p < 0 for p in rates.values()) or total > 1:
            raise ValueError("rates are probabilities that add up to at most 1")
        bands, edge = [], 0.0
        for status, probability in sorted(rates.items()):
            edge += probability
            bands.append((edge, _failure(int(status), retry_after)))
        with self._lock:
            self._random_failures = _RandomFailures(bands, random.Random(seed)) if bands else None

    def messaging_service(self, sid: str, numbers: list[str]) -> None:
        """Register a Messaging Service: messages created with MessagingServiceSid=`sid` go
        out from one of `numbers` (the same To always from the same one)."""
        if not numbers or not all(E164.match(n) for n in numbers):
            raise ValueError("a Messaging Service needs one or more E.164 numbers")
        with self._lock:
            self._services[sid] = list(numbers)

    def error_for_number(
        self, e164: str, code: int, *, status: int = 400, message: str | None = None
    ) -> None:
        """Refuse every message or call to `e164` (and buying it) with this Twilio error."""
        text = message or ERROR_MESSAGES.get(code, "Error {code} for {number}")
        with self._lock:
            self._number_errors[e164] = (status, code, text.format(number=e164, code=code))

    def deliver_as(
        self, e164: str, *, final_status: str = "delivered", error_code: int | None = None
    ) -> None:
        """Messages to `e164` end as delivered, undelivered or failed (with ErrorCode)."""
        if final_status not in FINAL_MESSAGE_STATUSES:
            raise ValueError(f"final_status must be one of {sorted(FINAL_MESSAGE_STATUSES)}")
        if final_status != "delivered" and error_code is None:
            error_code = DEFAULT_DELIVERY_ERRORS[final_status]
        with self._lock:
            self._outcomes[e164] = (final_status, error_code)

    def call_as(
        self,
        e164: str,
        *,
        final_status: str = "completed",
        answered_by: str | None = None,
        duration: int = 30,
    ) -> None:
        """Calls to `e164` end with this CallStatus (busy, no-answer…), AnsweredBy and length."""
        if final_status not in FINAL_CALL_STATUSES:
            raise ValueError(f"final_status must be one of {sorted(FINAL_CALL_STATUSES)}")
        with self._lock:
            self._call_outcomes[e164] = (final_status, answered_by, duration)

    def reset(self) -> None:
        """Forget everything received and configured; callbacks still pending are dropped."""
        with self._lock:
            self._reset_state()
        self.registration.reset()
        self.messaging.reset()

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def messages(self) -> dict[str, StandinMessage]:
        with self._lock:
            return {sid: replace(m) for sid, m in self._messages.items()}

    @property
    def calls(self) -> dict[str, StandinCall]:
        with self._lock:
            return {sid: replace(c) for sid, c in self._calls.items()}

    @property
    def numbers(self) -> dict[str, StandinNumber]:
        with self._lock:
            return {sid: replace(n) for sid, n in self._numbers.items()}

    @property
    def callbacks(self) -> list[CallbackRecord]:
        with self._lock:
            return list(self._callbacks)

    @property
    def accepted(self) -> list[AcceptedMessage]:
        """Every message answered 201, in the order accepted."""
        with self._lock:
            return list(self._accepted)

    def accepted_since(self, index: int) -> list[AcceptedMessage]:
        """The accepted log from position `index` on (for polling it bit by bit)."""
        with self._lock:
            return self._accepted[index:]

    def max_in_window(self, *, seconds: float = 1.0, from_: str | None = None) -> int:
        """The most messages accepted in any sliding window of `seconds`: of those going out
        from `from_` (a number, or a MessagingServiceSid), or of all messages when None."""
        with self._lock:
            log = list(self._accepted)
        if from_ is not None:
            log = [m for m in log if from_ in (m.from_, m.messaging_service_sid)]
        return max_in_window((m.at for m in log), seconds)

    def duplicates(self) -> int:
        """How many (To, Body) were accepted more than once (each counts once however often)."""
        return len(self.duplicate_counts())

    def duplicate_counts(self) -> dict[tuple[str, str], int]:
        """(To, Body) accepted more than once -> how many times."""
        with self._lock:
            log = list(self._accepted)
        return duplicate_counts(log)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "requests": self._request_count,
                "messages": len(self._messages),
                "accepted": len(self._accepted),
                "calls": len(self._calls),
                "callbacks_sent": len(self._callbacks),
                "callbacks_failed": sum(1 for c in self._callbacks if c.error or c.status != 200),
                "callbacks_pending": self._pending,
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
                "pid": os.getpid(),
            }

    def wait_for_callbacks(self, *, timeout: float = 10.0) -> list[CallbackRecord]:
        """Block until every callback scheduled so far has been POSTed; return all of them."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self._pending == 0:
                    return list(self._callbacks)
                pending = self._pending
            if time.monotonic() > deadline:
                raise TimeoutError(f"{pending} status callbacks still pending after {timeout}s")
            time.sleep(0.01)

    # --- server plumbing --------------------------------------------------------------------

    def _reset_state(self) -> None:
        self._generation = getattr(self, "_generation", 0) + 1
        self._requests: list[RecordedRequest] = []
        self._request_count = 0
        self._accepted: list[AcceptedMessage] = []
        # Position of each message in creation order, for stable PageTokens.
        self._message_order: dict[str, int] = {}
        self._random_failures: _RandomFailures | None = None
        self._services: dict[str, list[str]] = {}
        self._messages: dict[str, StandinMessage] = {}
        self._calls: dict[str, StandinCall] = {}
        self._numbers: dict[str, StandinNumber] = {}
        self._callbacks: list[CallbackRecord] = []
        self._failures: deque[_Failure] = deque()
        self._number_errors: dict[str, tuple[int, int, str]] = {}
        self._outcomes: dict[str, tuple[str, int | None]] = {}
        self._call_outcomes: dict[str, tuple[str, str | None, int]] = {}
        self._pending = 0
        self._in_flight = 0
        self._max_in_flight = 0

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._api_middleware])
        account = "/2010-04-01/Accounts/{account}"
        sid = "{sid:[A-Za-z0-9]+}"
        routes = [
            ("POST", "/Messages.json", self._message_create),
            ("GET", "/Messages.json", self._message_list),
            ("GET", f"/Messages/{sid}.json", self._message_fetch),
            ("POST", "/Calls.json", self._call_create),
            ("GET", "/Calls.json", self._call_list),
            ("GET", f"/Calls/{sid}.json", self._call_fetch),
            ("POST", f"/Calls/{sid}.json", self._call_update),
            ("POST", "/IncomingPhoneNumbers.json", self._number_create),
            ("GET", "/IncomingPhoneNumbers.json", self._number_list),
            ("GET", f"/IncomingPhoneNumbers/{sid}.json", self._number_fetch),
            ("POST", f"/IncomingPhoneNumbers/{sid}.json", self._number_update),
            ("DELETE", f"/IncomingPhoneNumbers/{sid}.json", self._number_delete),
            ("GET", "/AvailablePhoneNumbers/{country}/Local.json", self._available_local),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, account + path, handler)
        app.router.add_get("/_standin/stats", self._stats)
        app.router.add_get("/_standin/accepted", self._control_accepted)
        app.router.add_get("/_standin/max_in_window", self._control_max_in_window)
        app.router.add_get("/_standin/duplicates", self._control_duplicates)
        app.router.add_post("/_standin/fail_next", self._control_fail_next)
        app.router.add_post("/_standin/fail_randomly", self._control_fail_randomly)
        app.router.add_post("/_standin/messaging_services", self._control_messaging_service)
        app.router.add_post("/_standin/reset", self._control_reset)
        app.router.add_post("/_standin/configure", self._control_configure)
        app.router.add_post("/_standin/call_as", self._control_call_as)
        app.router.add_get("/_standin/requests", self._control_requests)
        app.router.add_get("/_standin/calls", self._control_calls)
        self.registration.add_routes(app)
        self.messaging.add_routes(app)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        return app

    async def on_started(self) -> None:
        connector = aiohttp.TCPConnector(limit=200)
        timeout = aiohttp.ClientTimeout(total=15)
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)

    async def on_stopping(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    @web.middleware
    async def _api_middleware(self, request: web.Request, handler) -> web.StreamResponse:
        if request.path.startswith("/_standin/"):
            return await handler(request)
        form = await request.post() if request.method in {"POST", "PUT"} else {}
        form_lists: dict[str, list[str]] = {}
        for key, value in form.items():
            form_lists.setdefault(key, []).append(str(value))
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            form={key: values[-1] for key, values in form_lists.items()},
            form_lists=form_lists,
            headers=dict(request.headers),
            time=time.time(),
            monotonic=time.monotonic(),
        )
        with self._lock:
            self._request_count += 1
            if self.keep_requests:
                self._requests.append(recorded)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            refusal = self._refusal(request)
            if refusal is not None:
                return refusal
            request[RECORDED] = recorded
            return await handler(request)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _refusal(self, request: web.Request) -> web.Response | None:
        """401 without the account's Basic auth, then any failure queued by fail_next."""
        if not self._authorized(request.headers.get("Authorization", "")):
            headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'}
            return _error(401, 20003, "Authenticate", headers)
        account = request.match_info.get("account")
        if account is not None and account != self.account_sid:
            return _not_found(request.path)
        failure = self._next_failure()
        if failure is None:
            return None
        headers = {}
        if failure.retry_after is not None:
            headers["Retry-After"] = f"{failure.retry_after:g}"
        message = FAILURE_MESSAGES.get(failure.status, "Internal Server Error")
        return _error(failure.status, failure.code, message, headers)

    def _next_failure(self) -> _Failure | None:
        with self._lock:
            if self._failures:
                return self._failures.popleft()
            storm = self._random_failures
            if storm is None:
                return None
            draw = storm.chooser.random()
        return next((failure for edge, failure in storm.bands if draw < edge), None)

    def _authorized(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(f"{user}:{password}", f"{self.account_sid}:{self.auth_token}")

    async def _unknown(self, request: web.Request) -> web.Response:
        return _not_found(request.path)

    async def _stats(self, request: web.Request) -> web.Response:
        stats = self.stats()
        stats["duplicates"] = self.duplicates()
        return web.json_response(stats)

    # --- control over HTTP, for a benchmark in another process (process.StandinClient) ---------

    async def _control_accepted(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", 0))
        log = self.accepted_since(since)
        return web.json_response({"accepted": [m.to_json() for m in log], "next": since + len(log)})

    async def _control_max_in_window(self, request: web.Request) -> web.Response:
        seconds = float(request.query.get("seconds", 1.0))
        most = self.max_in_window(seconds=seconds, from_=request.query.get("from"))
        return web.json_response({"max_in_window": most})

    async def _control_duplicates(self, request: web.Request) -> web.Response:
        counts = self.duplicate_counts()
        pairs = [[to, body, n] for (to, body), n in counts.items()]
        return web.json_response(
            {
                "duplicates": len(counts),
                "extra": sum(n - 1 for n in counts.values()),
                "pairs": pairs[:1000],
            }
        )

    async def _control_fail_next(self, request: web.Request) -> web.Response:
        data = await request.json()
        self.fail_next(
            status=int(data.get("status", 429)),
            count=int(data.get("count", 1)),
            retry_after=data.get("retry_after"),
        )
        return web.json_response({"ok": True})

    async def _control_fail_randomly(self, request: web.Request) -> web.Response:
        data = await request.json()
        rates = {int(status): float(p) for status, p in data.get("rates", {}).items()}
        self.fail_randomly(rates, retry_after=data.get("retry_after"), seed=data.get("seed"))
        return web.json_response({"ok": True})

    async def _control_messaging_service(self, request: web.Request) -> web.Response:
        data = await request.json()
        self.messaging_service(data["sid"], list(data["numbers"]))
        return web.json_response({"ok": True})

    async def _control_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})

    async def _control_configure(self, request: web.Request) -> web.Response:
        data = await request.json()
        if "latency" in data:
            self.latency = float(data["latency"])
        if "callbacks" in data:
            self.callbacks_enabled = bool(data["callbacks"])
        return web.json_response({"latency": self.latency, "callbacks": self.callbacks_enabled})

    async def _control_call_as(self, request: web.Request) -> web.Response:
        data = await request.json()
        try:
            self.call_as(
                data["e164"],
                final_status=data.get("final_status", "completed"),
                answered_by=data.get("answered_by"),
                duration=int(data.get("duration", 30)),
            )
        except ValueError as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response({"ok": True})

    async def _control_requests(self, request: web.Request) -> web.Response:
        """The request log (method, path, monotonic time, form; no headers), oldest first."""
        log = [
            {"method": r.method, "path": r.path, "monotonic": r.monotonic, "form": r.form}
            for r in self.requests
        ]
        return web.json_response({"requests": log})

    async def _control_calls(self, request: web.Request) -> web.Response:
        """Every call placed: sid, to, from, created_at (time.time()) and its status now."""
        calls = [
            {"sid": c.sid, "to": c.to, "from": c.from_, "created_at": c.created_at}
            | {"status": c.status}
            for c in self.calls.values()
        ]
        return web.json_response({"calls": calls})

    def _number_error(self, number: str) -> web.Response | None:
        with self._lock:
            configured = self._number_errors.get(number)
        if configured is None:
            return None
        status, code, message = configured
        return _error(status, code, message)

    def _uri(self, path: str) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/{path}"

    # --- Messages ---------------------------------------------------------------------------

    async def _message_create(self, request: web.Request) -> web.Response:
        form = request[RECORDED].form
        to, from_ = form.get("To", ""), form.get("From")
        service, body = form.get("MessagingServiceSid"), form.get("Body", "")
        callback = form.get("StatusCallback")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not (from_ or service):
            return _error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required.")
        if not (body or form.get("MediaUrl") or form.get("ContentSid")):
            return _error(400, 21602, "Message body is required.")
        if not E164.match(to):
            return _error(400, 21211, ERROR_MESSAGES[21211].format(number=to))
        if from_ and not E164.match(from_):
            return _error(400, 21212, f"The 'From' number {from_} is not a valid phone number.")
        if len(body) > 1600:
            return _error(400, 21617, "The concatenated message body exceeds the 1600 limit.")
        if callback is not None and not _is_url(callback):
            return _error(400, 21609, f"The StatusCallback URL {callback} is not a valid URL.")
        refusal = self._number_error(to)
        if refusal is not None:
            return refusal
        message = self._accept_message(to, from_, service, body, callback, form)
        self._log_accepted(message, request[RECORDED].monotonic)
        return web.json_response(self._message_json(message, time.time()), status=201)

    def _log_accepted(self, message: StandinMessage, received: float) -> None:
        entry = AcceptedMessage(
            sid=message.sid,
            at=time.monotonic(),
            received=received,
            from_=message.from_ or message.picked_from,
            messaging_service_sid=message.messaging_service_sid,
            to=message.to,
            body=message.body,
        )
        with self._lock:
            self._accepted.append(entry)

    def _pick_from(self, service: str | None, to: str) -> str | None:
        alpha = self.messaging.alpha_sender_for(service or "", to)
        if alpha:
            return alpha
        with self._lock:
            pool = self._services.get(service or "")
        if not pool:
            return None
        return pool[zlib.crc32(to.encode()) % len(pool)]

    def _accept_message(
        self,
        to: str,
        from_: str | None,
        service: str | None,
        body: str,
        callback: str | None,
        form: dict[str, str],
    ) -> StandinMessage:
        now = time.time()
        message = StandinMessage(
            sid=_sid("SM"),
            to=to,
            from_=from_,
            messaging_service_sid=service,
            body=body,
            status_callback=callback,
            num_segments=count_segments(body),
            params=form,
            created_at=now,
            picked_from=None if from_ else self._pick_from(service, to),
        )
        with self._lock:
            final, error_code = self._outcomes.get(to, ("delivered", None))
            step = self.callback_delay
            if final == "failed":
                message.timeline = [(now + step, "failed", error_code)]
            else:
                message.timeline = [(now + step, "sent", None), (now + 2 * step, final, error_code)]
            self._message_order[message.sid] = len(self._messages)
            self._messages[message.sid] = message
            send_callbacks = self.callbacks_enabled and callback is not None
        if send_callbacks:
            self._spawn(self._message_callbacks(message))
        return message

    async def _message_callbacks(self, message: StandinMessage) -> None:
        # One coroutine per message posts its callbacks in order, each after the last answered.
        for at, status, error_code in message.timeline:
            if self.final_callbacks_only and status not in FINAL_MESSAGE_STATUSES:
                continue
            await asyncio.sleep(max(0.0, at - time.time()))
            params = {
                "AccountSid": self.account_sid,
                "ApiVersion": API_VERSION,
                "From": message.sender(at) or "",
                "To": message.to,
                "MessageSid": message.sid,
                "SmsSid": message.sid,
                "MessageStatus": status,
                "SmsStatus": status,
            }
            if message.messaging_service_sid:
                params["MessagingServiceSid"] = message.messaging_service_sid
            if error_code is not None:
                params["ErrorCode"] = str(error_code)
            if status in {"delivered", "undelivered"}:
                params["RawDlrDoneDate"] = datetime.now(UTC).strftime("%y%m%d%H%M")
            assert message.status_callback is not None
            await self._post_callback(message.status_callback, params)

    def _message_json(self, message: StandinMessage, now: float) -> dict[str, Any]:
        status, error_code, sent_at = message.state(now)
        uri = self._uri(f"Messages/{message.sid}.json")
        # Twilio counts a service's message's parts once a number is assigned to it.
        segments = 0 if status == "accepted" else message.num_segments
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": message.body,
            "date_created": _rfc2822(message.created_at),
            "date_sent": _rfc2822(sent_at),
            "date_updated": _rfc2822(max(message.created_at, sent_at or 0)),
            "direction": "outbound-api",
            "error_code": error_code,
            "error_message": None if error_code is None else f"Error {error_code}",
            "from": message.sender(now),
            "messaging_service_sid": message.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(segments),
            "price": None,
            "price_unit": "USD",
            "sid": message.sid,
            "status": status,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": message.to,
            "uri": uri,
        }

    async def _message_fetch(self, request: web.Request) -> web.Response:
        with self._lock:
            message = self._messages.get(request.match_info["sid"])
        if message is None:
            return _not_found(request.path)
        return web.json_response(self._message_json(message, time.time()))

    async def _message_list(self, request: web.Request) -> web.Response:
        query = request.query
        now = time.time()
        with self._lock:
            messages = list(reversed(self._messages.values()))
        if "To" in query:
            messages = [m for m in messages if m.to == query["To"]]
        if "From" in query:
            messages = [m for m in messages if m.sender(now) == query["From"]]
        for key, keep in (
            ("DateSent", operator.eq),
            ("DateSent<", operator.le),
            ("DateSent>", operator.ge),
        ):
            if key in query:
                bound = _parse_filter_date(query[key])
                messages = [m for m in messages if _sent_matches(m.state(now)[2], bound, keep)]
        with self._lock:
            order = dict(self._message_order)
        return self._page(
            request,
            "messages",
            messages,
            "Messages.json",
            lambda m: self._message_json(m, now),
            lambda m: order[m.sid],
        )

    def _page(
        self,
        request: web.Request,
        key: str,
        items: list[Any],
        path: str,
        render,
        position=None,
    ) -> web.Response:
        """One page of `items` (newest first), rendered with `render`. With `position` (an
        item's place in creation order) a PageToken names the last item of the page before,
        so items created meanwhile do not shift the pages still to come."""
        query = request.query
        try:
            size = min(max(int(query.get("PageSize", 50)), 1), 1000)
            page = max(int(query.get("Page", 0)), 0)
        except ValueError:
            return _error(400, 20001, "Invalid paging parameters")
        filters = {k: v for k, v in query.items() if k not in {"PageSize", "Page", "PageToken"}}
        start = page * size
        token = query.get("PageToken", "")
        if position is not None and token.startswith("PA") and token[2:].isdigit():
            after = int(token[2:])
            start = next((i for i, item in enumerate(items) if position(item) < after), len(items))
        chunk = items[start : start + size]

        def page_uri(number: int, token: str | None = None) -> str:
            params = {**filters, "PageSize": size, "Page": number}
            if number > 0 and (token or position is None):
                params["PageToken"] = token or f"PA{number}"
            return f"{self._uri(path)}?{urlencode(params)}"

        def next_token() -> str | None:
            return f"PA{position(chunk[-1])}" if position is not None and chunk else None

        more = start + size < len(items)
        body = {
            key: [render(item) for item in chunk],
            "end": start + max(len(chunk) - 1, 0),
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1, next_token()) if more else None,
            "page": page,
            "page_size": size,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "start": start,
            "uri": page_uri(page, token or None),
        }
        return web.json_response(body)

    # --- Calls ------------------------------------------------------------------------------

    async def _call_create(self, request: web.Request) -> web.Response:
        recorded = request[RECORDED]
        form = recorded.form
        to, from_ = form.get("To", ""), form.get("From", "")
        if not to:
            return _error(400, 21201, "No 'To' number is specified")
        if not from_:
            return _error(400, 21213, "No 'From' number is specified")
        if not (form.get("Url") or form.get("Twiml") or form.get("ApplicationSid")):
            return _error(400, 21205, "Url parameter is required.")
        if not E164.match(to):
            return _error(400, 21211, ERROR_MESSAGES[21211].format(number=to))
        for key in ("Url", "StatusCallback"):
            if key in form and not _is_url(form[key]):
                return _error(400, 21205, f"{key} is not a valid URL: {form[key]}")
        refusal = self._number_error(to)
        if refusal is not None:
            return refusal
        call = self._place_call(to, from_, form, recorded.form_lists)
        return web.json_response(self._call_json(call, time.time()), status=201)

    def place_call(self, *, to: str, from_: str) -> str:
        """A call that exists at "Twilio" although its create was never answered (the test
        plays a lost response): no callbacks. Returns its sid."""
        call = self._place_call(to, from_, {"To": to, "From": from_}, {})
        call.status_callback = None
        return call.sid

    def _place_call(
        self, to: str, from_: str, form: dict[str, str], form_lists: dict[str, list[str]]
    ) -> StandinCall:
        now = time.time()
        events = " ".join(form_lists.get("StatusCallbackEvent", [])).split() or ["completed"]
        with self._lock:
            final, answered_by, duration = self._call_outcomes.get(to, ("completed", None, 30))
        detection = form.get("MachineDetection")
        call = StandinCall(
            sid=_sid("CA"),
            to=to,
            from_=from_,
            url=form.get("Url"),
            status_callback=form.get("StatusCallback"),
            callback_events=events,
            machine_detection=detection,
            answered_by=(answered_by or "human") if detection else None,
            duration=duration if final == "completed" else 0,
            params=form,
            created_at=now,
        )
        step = self.callback_delay
        moves = ["initiated", "ringing"] + (["in-progress"] if final == "completed" else [])
        # Queued at creation; each later move one callback_delay after the last.
        call.timeline = [(now + i * step, s) for i, s in enumerate([*moves, final], start=1)]
        self._register_call(call)
        return call

    def _register_call(self, call: StandinCall) -> None:
        with self._lock:
            self._calls[call.sid] = call
            send = self.callbacks_enabled and call.status_callback is not None
        if send:
            self._spawn(self._call_callbacks(call))

    async def _call_callbacks(self, call: StandinCall) -> None:
        # The timeline is read afresh after each wait: a hang-up (POST Status=completed) cuts it.
        wanted = set(call.callback_events)
        event_of = {"initiated": "initiated", "ringing": "ringing", "in-progress": "answered"}
        sequence = 0
        index = 0
        changed = self._call_changed[call.sid] = asyncio.Event()
        while True:
            with self._lock:
                if index >= len(call.timeline):
                    self._call_changed.pop(call.sid, None)
                    return
                at, status = call.timeline[index]
            delay = at - time.time()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), delay)
                changed.clear()
                continue  # look again: the call may have been hung up meanwhile
            index += 1
            if event_of.get(status, "completed") not in wanted:
                continue
            await self._post_callback(
                call.status_callback or "", self._call_params(call, status, at, sequence)
            )
            sequence += 1

    def _call_params(
        self, call: StandinCall, status: str, at: float, sequence: int
    ) -> dict[str, str]:
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call.sid,
            "CallStatus": status,
            "Called": call.to,
            "Caller": call.from_,
            "Direction": "outbound-api",
            "From": call.from_,
            "To": call.to,
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(sequence),
            "Timestamp": _rfc2822(at) or "",
        }
        if call.answered_by and status in {"in-progress", "completed"}:
            params["AnsweredBy"] = call.answered_by
        if status in FINAL_CALL_STATUSES:
            params["CallDuration"] = params["Duration"] = str(call.duration)
        return params

    def _call_json(self, call: StandinCall, now: float) -> dict[str, Any]:
        status = call.state(now)
        answered = next((at for at, s in call.timeline if s == "in-progress" and at <= now), None)
        ended = call.timeline[-1][0] if status in FINAL_CALL_STATUSES else None
        uri = self._uri(f"Calls/{call.sid}.json")
        return {
            "account_sid": self.account_sid,
            "answered_by": call.answered_by if answered else None,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": _rfc2822(call.created_at),
            "date_updated": _rfc2822(now),
            "direction": "outbound-api",
            "duration": str(call.duration) if ended else None,
            "end_time": _rfc2822(ended),
            "forwarded_from": None,
            "from": call.from_,
            "from_formatted": call.from_,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": None,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": call.sid,
            "start_time": _rfc2822(answered),
            "status": status,
            "subresource_uris": {"recordings": uri.replace(".json", "/Recordings.json")},
            "to": call.to,
            "to_formatted": call.to,
            "trunk_sid": None,
            "uri": uri,
        }

    async def _call_list(self, request: web.Request) -> web.Response:
        """Calls, newest first, filtered by To, From and StartTime> (creation time here)."""
        query = request.query
        now = time.time()
        with self._lock:
            calls = sorted(self._calls.values(), key=lambda c: c.created_at, reverse=True)
        if "To" in query:
            calls = [c for c in calls if c.to == query["To"]]
        if "From" in query:
            calls = [c for c in calls if c.from_ == query["From"]]
        if "StartTime>" in query:
            bound = _parse_filter_date(query["StartTime>"])
            if not isinstance(bound, datetime):
                bound = datetime(bound.year, bound.month, bound.day, tzinfo=UTC)
            elif bound.tzinfo is None:
                bound = bound.replace(tzinfo=UTC)
            calls = [c for c in calls if datetime.fromtimestamp(c.created_at, UTC) >= bound]
        return self._page(request, "calls", calls, "Calls.json", lambda c: self._call_json(c, now))

    async def _call_fetch(self, request: web.Request) -> web.Response:
        with self._lock:
            call = self._calls.get(request.match_info["sid"])
        if call is None:
            return _not_found(request.path)
        return web.json_response(self._call_json(call, time.time()))

    async def _call_update(self, request: web.Request) -> web.Response:
        form = request[RECORDED].form
        now = time.time()
        with self._lock:
            call = self._calls.get(request.match_info["sid"])
            if call is not None:
                call.updates.append(form)
                ended = call.state(now) in FINAL_CALL_STATUSES
                if form.get("Status") in {"completed", "canceled"} and not ended:
                    # Hanging up ends the call now; later moves of the timeline never happen.
                    call.timeline = [(at, s) for at, s in call.timeline if at <= now]
                    call.timeline.append((now, form["Status"]))
        if call is None:
            return _not_found(request.path)
        if request.match_info["sid"] in self._call_changed:
            self._call_changed[request.match_info["sid"]].set()
        return web.json_response(self._call_json(call, now))

    # --- IncomingPhoneNumbers and AvailablePhoneNumbers -------------------------------------

    async def _number_create(self, request: web.Request) -> web.Response:
        form = request[RECORDED].form
        number = form.get("PhoneNumber")
        if number is None and form.get("AreaCode"):
            number = _local_numbers("US", form["AreaCode"], 1)[0]
        if not number or not E164.match(number):
            return _error(400, 21421, "PhoneNumber is invalid")
        for key in ("SmsUrl", "VoiceUrl", "StatusCallback", "SmsFallbackUrl", "VoiceFallbackUrl"):
            if key in form and not _is_url(form[key]):
                return _error(400, 21502, f"{key} is not a valid URL: {form[key]}")
        refusal = self._number_error(number)
        if refusal is not None:
            return refusal
        with self._lock:
            if any(n.phone_number == number for n in self._numbers.values()):
                return _error(400, 21422, ERROR_MESSAGES[21422].format(number=number))
            now = time.time()
            owned = StandinNumber(_sid("PN"), number, dict(form), now, now)
            self._numbers[owned.sid] = owned
        return web.json_response(self._number_json(owned), status=201)

    def _number_json(self, number: StandinNumber) -> dict[str, Any]:
        params = number.params

        def method(key: str) -> str:
            return params.get(key, "POST")

        return {
            "account_sid": self.account_sid,
            "address_requirements": "none",
            "address_sid": None,
            "api_version": API_VERSION,
            "beta": False,
            "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
            "date_created": _rfc2822(number.created_at),
            "date_updated": _rfc2822(number.updated_at),
            "emergency_address_sid": None,
            "emergency_address_status": "unregistered",
            "emergency_status": "Inactive",
            "friendly_name": params.get("FriendlyName", number.phone_number),
            "identity_sid": None,
            "origin": "twilio",
            "phone_number": number.phone_number,
            "sid": number.sid,
            "sms_application_sid": params.get("SmsApplicationSid", ""),
            "sms_fallback_method": method("SmsFallbackMethod"),
            "sms_fallback_url": params.get("SmsFallbackUrl", ""),
            "sms_method": method("SmsMethod"),
            "sms_url": params.get("SmsUrl", ""),
            "status": "in-use",
            "status_callback": params.get("StatusCallback", ""),
            "status_callback_method": method("StatusCallbackMethod"),
            "trunk_sid": None,
            "type": "local",
            "uri": self._uri(f"IncomingPhoneNumbers/{number.sid}.json"),
            "voice_application_sid": params.get("VoiceApplicationSid", ""),
            "voice_caller_id_lookup": False,
            "voice_fallback_method": method("VoiceFallbackMethod"),
            "voice_fallback_url": params.get("VoiceFallbackUrl", ""),
            "voice_method": method("VoiceMethod"),
            "voice_receive_mode": "voice",
            "voice_url": params.get("VoiceUrl", ""),
            "bundle_sid": None,
        }

    async def _number_list(self, request: web.Request) -> web.Response:
        with self._lock:
            numbers = list(self._numbers.values())
        wanted = request.query.get("PhoneNumber")
        if wanted:
            numbers = [n for n in numbers if n.phone_number == wanted]
        return self._page(
            request,
            "incoming_phone_numbers",
            numbers,
            "IncomingPhoneNumbers.json",
            self._number_json,
        )

    async def _number_fetch(self, request: web.Request) -> web.Response:
        with self._lock:
            number = self._numbers.get(request.match_info["sid"])
        if number is None:
            return _not_found(request.path)
        return web.json_response(self._number_json(number))

    async def _number_update(self, request: web.Request) -> web.Response:
        form = request[RECORDED].form
        with self._lock:
            number = self._numbers.get(request.match_info["sid"])
            if number is not None:
                number.params.update(form)
                number.updated_at = time.time()
        if number is None:
            return _not_found(request.path)
        return web.json_response(self._number_json(number))

    async def _number_delete(self, request: web.Request) -> web.Response:
        with self._lock:
            number = self._numbers.pop(request.match_info["sid"], None)
        if number is None:
            return _not_found(request.path)
        self.messaging.number_released(number.sid)
        return web.Response(status=204)

    async def _available_local(self, request: web.Request) -> web.Response:
        country = request.match_info["country"].upper()
        area_code = request.query.get("AreaCode")
        if area_code is not None and not area_code.isdigit():
            return _error(400, 21451, f"Invalid AreaCode: {area_code}")
        try:
            size = min(max(int(request.query.get("PageSize", 20)), 1), 50)
        except ValueError:
            return _error(400, 20001, "Invalid PageSize")
        with self._lock:
            owned = {n.phone_number for n in self._numbers.values()}
        candidates = [n for n in _local_numbers(country, area_code, size + len(owned))]
        records = [_available_json(n, country) for n in candidates if n not in owned][:size]
        uri = self._uri(f"AvailablePhoneNumbers/{country}/Local.json")
        return web.json_response({"available_phone_numbers": records, "uri": uri})

    # --- callbacks --------------------------------------------------------------------------

    def _spawn(self, lifecycle: Coroutine[Any, Any, None]) -> None:
        """Run one message's or call's callbacks; wait_for_callbacks waits for all of them."""
        with self._lock:
            self._pending += 1
            generation = self._generation
        task = asyncio.get_running_loop().create_task(self._guarded(lifecycle, generation))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, lifecycle: Coroutine[Any, Any, None], generation: int) -> None:
        self._task_generation.set(generation)
        try:
            await lifecycle
        finally:
            with self._lock:
                if generation == self._generation:
                    self._pending -= 1

    async def _post_callback(self, url: str, params: dict[str, str]) -> None:
        generation = self._task_generation.get()
        if generation != self._generation:
            return  # reset() since it was scheduled: it belongs to a test that is over
        signature = twilio_signature(self.auth_token, url, params)
        headers = {
            "X-Twilio-Signature": signature,
            "I-Twilio-Idempotency-Token": _sid(""),
            "User-Agent": "TwilioProxy/1.1",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        status: int | None = None
        error: str | None = None
        assert self._session is not None
        try:
            # Encoded here: aiohttp's FormData costs more than the rest of the request.
            body = urlencode(params).encode()
            async with self._session.post(url, data=body, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        finally:
            record = CallbackRecord(url, params, signature, status, error, time.time())
            with self._lock:
                if generation == self._generation:
                    self._callbacks.append(record)


def _local_numbers(country: str, area_code: str | None, count: int) -> list[str]:
    """Deterministic, well-formed local numbers for a country (US/CA: NANP with the area code)."""
    if country in {"US", "CA"}:
        area = area_code or "415"
        return [
            f"+1{area}{201 + i // 10000:03d}{(1000 + i * 37) % 10000:04d}" for i in range(count)
        ]
    if country == "AU":
        return [f"+612{9000 + i:04d}{(1000 + i * 37) % 10000:04d}" for i in range(count)]
    return []


def _available_json(number: str, country: str) -> dict[str, Any]:
    return {
        "address_requirements": "none",
        "beta": False,
        "capabilities": {"mms": True, "sms": True, "voice": country != "AU"},
        "friendly_name": number,
        "iso_country": country,
        "lata": None,
        "latitude": None,
        "locality": None,
        "longitude": None,
        "phone_number": number,
        "postal_code": None,
        "rate_center": None,
        "region": None,
    }


def _parse_filter_date(raw: str) -> date | datetime:
    text = raw.strip()
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _sent_matches(sent_at: float | None, bound: date | datetime, keep) -> bool:
    if sent_at is None:
        return False  # DateSent filters never match a message that has not been sent yet
    sent = datetime.fromtimestamp(sent_at, UTC)
    if isinstance(bound, datetime):
        return keep(sent, bound if bound.tzinfo else bound.replace(tzinfo=UTC))
    return keep(sent.date(), bound)
