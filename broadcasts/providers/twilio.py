"""The Twilio gateway: the only module that imports the twilio SDK.

Everything the app asks of Twilio goes through the functions below (keyword-only, typed), and
every way Twilio can say no comes back as one exception, `ProviderError`, marked `permanent`
(retrying cannot help: bad number, unsubscribed, region not enabled, bad credentials…) or not
(429, 5xx, timeouts, refused connections: try again later, after `retry_after` if Twilio gave one).

Where requests go. The SDK builds absolute URLs on https://api.twilio.com (its `Api` domain has
that base hard-wired). Settings' TWILIO_API_BASE redirects them: the client is given our own
`HttpClient` subclass that swaps scheme and host of each URL for TWILIO_API_BASE's, keeping path
and query. Custom HTTP clients are the SDK's documented extension point, so this keeps working
across SDK releases where patching `client.api.base_url` (an internal attribute) might not; and
the same class is where the connection pool is sized, the timeout applied and transport errors
translated. Tests, benchmarks and the contract check point TWILIO_API_BASE at a local server.

Threads. One client per process (per settings), built on first use and shared: its requests
Session has an HTTPAdapter with TWILIO_MAX_CONNECTIONS pooled connections (match the number of
sending threads; beyond it connections are opened and thrown away) and no automatic retries.
`reset_client()` drops it (tests that change settings; a new client is also built by itself
when the Twilio settings it was built from change).

Without threads. `async with async_session():` opens an aiohttp-backed client for the running
event loop, and `sms_send_async` sends through it: same arguments, results and errors. One loop
keeps hundreds of sends in flight for about a third of the CPU a threaded send costs (figures
in bench/twilio_gateway_throughput.py).

Errors are translated in the HTTP client, where the response headers are still at hand (the
SDK's TwilioRestException has no Retry-After): any status >= 400 raises ProviderError there.

Backends. settings.SMS_BACKEND is "twilio" or "outbox"; broadcasts.provider.sms_provider()
picks this module or broadcasts.outbox, which offers the same function names, arguments and
return types. Code that may run on the embedded default calls through sms_provider().
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
import requests

# The SDK imports its REST API's modules on the first request; imported with this module
# instead, a Celery worker's parent does it once before it forks its pool, rather than each
# pool process in its first slice of sending.
import twilio.rest.api.v2010.account.message  # noqa: F401
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException
from twilio.http import AsyncHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

logger = logging.getLogger(__name__)

R = TypeVar("R")

TWILIO_API_HOST = "api.twilio.com"
# Each Twilio host the app speaks to, and the setting that says where its requests really go.
TWILIO_HOST_SETTINGS = {
    TWILIO_API_HOST: "TWILIO_API_BASE",
    "messaging.twilio.com": "TWILIO_MESSAGING_API_BASE",
    "trusthub.twilio.com": "TWILIO_TRUSTHUB_API_BASE",
    "lookups.twilio.com": "TWILIO_LOOKUPS_API_BASE",
}
UNSUBSCRIBED = 21610

# Twilio error codes that fail the same way however often they are tried again: the number, the
# sender or the account is wrong, not the moment. (Any other 4xx but 429 is treated the same.)
PERMANENT_CODES = frozenset(
    {
        20003,  # authentication failed (wrong SID or token): fix settings, don't retry
        20404,  # resource not found
        21211,  # invalid 'To' phone number
        21212,  # invalid 'From' phone number
        21217,  # phone number does not appear to be valid (calls)
        21401,  # invalid phone number
        21408,  # permission to send to this region not enabled
        21421,  # PhoneNumber is invalid (buying a number)
        21422,  # PhoneNumber is not available (bought by someone else meanwhile)
        21601,  # phone number is not SMS-capable
        21602,  # message body is required
        21606,  # 'From' is not a message-capable Twilio number for this destination
        21608,  # unverified 'To' on a trial account
        21610,  # recipient replied STOP: unsubscribed from this sender
        21612,  # 'To' cannot be reached from this 'From'
        21614,  # 'To' is not a mobile number
        21617,  # body longer than 1600 characters
        21635,  # 'To' is a landline
        21659,  # 'From' is not a Twilio number
        21660,  # 'From' does not belong to this account
    }
)
# Codes that Twilio sends with a 4xx status but that go away with time: back off and retry.
RETRYABLE_CODES = frozenset(
    {
        14107,  # SMS send rate limit exceeded
        20429,  # too many concurrent requests
        21611,  # the 'From' number's queue is full (over 10 hours of messages queued)
    }
)
RETRYABLE_STATUSES = frozenset({408, 429})


class ProviderError(Exception):
    """Twilio refused or failed a request.

    `permanent`: the same request will never succeed (mark the recipient failed, refund).
    Otherwise retry, not before `retry_after` seconds when Twilio said so. `ambiguous`: the
    request may have been carried out even so (read timeout, connection dropped after sending,
    5xx) — a message create must be reconciled (messages_list) before it is sent again.
    `details`: the error body as Twilio sent it (parsed JSON), when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        code: int | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        ambiguous: bool = False,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.code = code
        self.status = status
        self.retry_after = retry_after
        self.ambiguous = ambiguous
        self.details = details

    @property
    def retryable(self) -> bool:
        return not self.permanent

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments defeat Exception's default pickling (worker pools, Celery).
        fields = {k: v for k, v in self.__dict__.items() if k != "message"}
        return (_provider_error, (self.message, fields))

    def __str__(self) -> str:
        where = " ".join(
            part
            for part in (f"HTTP {self.status}" if self.status else "", _code_text(self.code))
            if part
        )
        return f"{where}: {self.message}" if where else self.message


def _provider_error(message: str, fields: dict[str, Any]) -> ProviderError:
    return ProviderError(message, **fields)


def _code_text(code: int | None) -> str:
    return f"Twilio error {code}" if code is not None else ""


def is_permanent(*, status: int | None, code: int | None) -> bool:
    """Whether an error with this HTTP status and Twilio code can never succeed on retry."""
    if code in RETRYABLE_CODES:
        return False
    if code in PERMANENT_CODES:
        return True
    if status is None or status in RETRYABLE_STATUSES or status >= 500:
        return False
    return 400 <= status < 500


@dataclass(frozen=True, slots=True)
class SentMessage:
    sid: str
    status: str
    num_segments: int | None


@dataclass(frozen=True, slots=True)
class MessageInfo:
    sid: str
    status: str
    to: str
    from_: str | None
    body: str | None
    error_code: int | None
    error_message: str | None
    num_segments: int | None
    date_created: datetime | None
    date_sent: datetime | None


@dataclass(frozen=True, slots=True)
class CallInfo:
    sid: str
    status: str
    to: str
    from_: str
    answered_by: str | None
    duration: int | None


@dataclass(frozen=True, slots=True)
class AvailableNumber:
    phone_number: str
    friendly_name: str
    iso_country: str
    locality: str | None
    region: str | None
    sms: bool
    voice: bool


@dataclass(frozen=True, slots=True)
class IncomingNumber:
    sid: str
    phone_number: str
    sms_url: str | None = None
    voice_url: str | None = None
    status_callback: str | None = None


# --- the client -----------------------------------------------------------------------------


class _Redirect:
    """https://<twilio host>/<path>?<query> -> that host's base from settings + /<path>?<query>.

    `api_bases` pairs each host of TWILIO_HOST_SETTINGS with its base URL; a URL on any other
    host is refused, so nothing the SDK builds can leave for somewhere unconfigured.
    """

    def __init__(self, api_bases: Mapping[str, str]) -> None:
        self.bases = {host: urlsplit(base) for host, base in api_bases.items()}

    def __call__(self, url: str) -> str:
        parts = urlsplit(url)
        base = self.bases.get(parts.hostname or "")
        if base is None:
            raise ValueError(f"the gateway only speaks to {', '.join(self.bases)}, not {url}")
        path = base.path.rstrip("/") + parts.path
        return urlunsplit((base.scheme, base.netloc, path, parts.query, parts.fragment))


def api_bases() -> dict[str, str]:
    """Where each Twilio host's requests go, from settings (TWILIO_API_BASE and its siblings)."""
    return {host: getattr(settings, name) for host, name in TWILIO_HOST_SETTINGS.items()}


class _GatewayHttpClient(TwilioHttpClient):
    """The SDK's requests-based client, redirected to TWILIO_API_BASE, pooled, quiet, strict."""

    def __init__(
        self, *, api_bases: Mapping[str, str], timeout: float, max_connections: int
    ) -> None:
        super().__init__(pool_connections=True, timeout=timeout)
        self.redirect = _Redirect(api_bases)
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max_connections, max_retries=0)
        assert self.session is not None
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        # requests re-reads the proxy variables of the whole environment on every request
        # (a quarter of the CPU a send costs): read them once, here, and never again.
        self.proxy = requests.utils.get_environ_proxies(api_bases[TWILIO_API_HOST])
        self.session.trust_env = False

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        try:
            response = super().request(
                method,
                self.redirect(url),
                params=params,
                data=data,
                headers=headers,
                auth=auth,
                timeout=timeout,
                allow_redirects=allow_redirects,
            )
        except requests.RequestException as exc:
            raise _transport_error(exc) from exc
        if response.status_code >= 400:
            raise _response_error(response.status_code, response.text, response.headers)
        return response

    # The SDK logs a dozen INFO lines per request; at a thousand requests a second that is
    # noise and CPU. One DEBUG line instead.
    def log_request(self, kwargs: dict[str, Any]) -> None:
        logger.debug("twilio %s %s", kwargs["method"], kwargs["url"])

    def log_response(self, status_code: int, response: Any) -> None:
        pass


def _transport_error(exc: requests.RequestException) -> ProviderError:
    """No HTTP answer: retryable; ambiguous unless the request surely never left."""
    kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
    return ProviderError(
        f"Twilio request {kind}: {exc}", permanent=False, ambiguous=not _never_sent(exc)
    )


def _never_sent(exc: requests.RequestException) -> bool:
    """Connect timeouts and refused or unresolvable hosts: nothing reached Twilio."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    # requests wraps urllib3's MaxRetryError, whose reason says what went wrong.
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _response_error(status: int, text: str, headers: Mapping[str, str]) -> ProviderError:
    try:
        payload = json.loads(text) if text else {}
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    raw_code = payload.get("code")
    code = raw_code if isinstance(raw_code, int) else None
    # Twilio's legacy bodies say `message`; RFC 9457 ones say `detail` and `title`.
    message = str(
        payload.get("message") or payload.get("detail") or payload.get("title") or text[:200]
    )
    return ProviderError(
        message or f"HTTP {status}",
        permanent=is_permanent(status=status, code=code),
        code=code,
        status=status,
        retry_after=_retry_after(headers.get("Retry-After")),
        ambiguous=status >= 500,
        details=payload or None,
    )


def _retry_after(raw: str | None) -> float | None:
    """Retry-After in seconds, given as seconds or as an HTTP date."""
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(raw).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


_client_lock = threading.Lock()
_client: tuple[tuple[Any, ...], Client] | None = None


_settings_key: tuple[Any, ...] | None = None


def _client_settings() -> tuple[Any, ...]:
    """The settings a client is built from, read once and again after any TWILIO_* setting
    changes (``setting_changed``, as tests and override_settings send): a send at thousands a
    second would otherwise read seven settings each time."""
    global _settings_key
    key = _settings_key
    if key is None:
        key = _settings_key = (
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            tuple(api_bases().items()),
            settings.TWILIO_TIMEOUT,
            settings.TWILIO_MAX_CONNECTIONS,
        )
    return key


@receiver(setting_changed)
def _settings_changed(*, setting: str, **_: Any) -> None:
    global _settings_key
    if setting.startswith("TWILIO_"):
        _settings_key = None


def twilio_client() -> Client:
    """The process's Twilio client, built from settings on first use; safe across threads."""
    global _client
    key = _client_settings()
    cached = _client
    if cached is not None and cached[0] == key:
        return cached[1]
    with _client_lock:
        if _client is None or _client[0] != key:
            account_sid, auth_token, bases, timeout, max_connections = key
            http_client = _GatewayHttpClient(
                api_bases=dict(bases), timeout=timeout, max_connections=max_connections
            )
            # environment={} so that TWILIO_* variables of the process never override settings.
            client = Client(account_sid, auth_token, http_client=http_client, environment={})
            _client = (key, client)
        return _client[1]


def reset_client() -> None:
    """Forget the cached client (and close its connections); the next call builds a new one."""
    global _client
    with _client_lock:
        cached, _client = _client, None
    if cached is not None:
        session = getattr(cached[1].http_client, "session", None)
        if session is not None:
            session.close()


def provider_call(operation: Callable[[], R]) -> R:
    """Run one SDK operation; SDK-side failures (bad response shape…) become ProviderError."""
    try:
        return operation()
    except TwilioException as exc:
        raise _sdk_error(exc) from exc


def _sdk_error(exc: TwilioException) -> ProviderError:
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    return ProviderError(
        str(exc), permanent=is_permanent(status=status, code=code), code=code, status=status
    )


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- messages -------------------------------------------------------------------------------


def sms_send(*, to: str, from_: str, body: str, status_callback: str | None = None) -> SentMessage:
    """Create an outbound SMS. Not idempotent: after an ambiguous error, reconcile first."""
    message = provider_call(
        lambda: twilio_client().messages.create(
            to=to, from_=from_, body=body, status_callback=status_callback
        )
    )
    return SentMessage(
        sid=message.sid, status=message.status, num_segments=_int_or_none(message.num_segments)
    )


def _message_info(message: Any) -> MessageInfo:
    return MessageInfo(
        sid=message.sid,
        status=message.status,
        to=message.to,
        from_=message.from_,
        body=message.body,
        error_code=_int_or_none(message.error_code),
        error_message=message.error_message,
        num_segments=_int_or_none(message.num_segments),
        date_created=message.date_created,
        date_sent=message.date_sent,
    )


def message_fetch(*, sid: str) -> MessageInfo:
    return _message_info(provider_call(lambda: twilio_client().messages(sid).fetch()))


RECONCILE_LIMIT = 500


def messages_list(*, to: str, from_: str | None, sent_after: datetime) -> list[MessageInfo]:
    """Messages from `from_` (None: from any sender) to `to` created at or after `sent_after`,
    newest first.

    For reconciling a recipient left in "sending" by a crash (Twilio has no idempotency key).
    Twilio's DateSent filter is by day and skips messages still queued (no date_sent yet) —
    exactly the ones a crash leaves — so the filter on creation time is applied here instead,
    over at most RECONCILE_LIMIT of the pair's most recent messages.
    """
    since = sent_after - timedelta(seconds=1)  # Twilio's dates have whole seconds
    records = provider_call(
        lambda: list(
            twilio_client().messages.stream(
                to=to, page_size=100, limit=RECONCILE_LIMIT, **({"from_": from_} if from_ else {})
            )
        )
    )
    return [_message_info(m) for m in records if m.date_created is None or m.date_created >= since]


def messages_recent(
    *, from_: str, created_after: datetime, max_pages: int = 100
) -> list[MessageInfo]:
    """Every message from ``from_`` created at or after ``created_after``, for reconciling
    in bulk: pages of 1,000, newest first, stopping at the first page older than that.

    Not by DateSent, which is by day and skips messages Twilio still holds in its queue —
    exactly the ones a crash may leave behind."""
    since = created_after - timedelta(seconds=1)  # Twilio's dates have whole seconds

    def fetch() -> list[Any]:
        found = []
        page = twilio_client().messages.page(from_=from_, page_size=1000)
        for _ in range(max_pages):
            records = list(page)
            found += [m for m in records if m.date_created is None or m.date_created >= since]
            older = [m for m in records if m.date_created is not None and m.date_created < since]
            if not records or len(older) == len(records):
                break
            page = page.next_page()
            if page is None:
                break
        return found

    return [_message_info(m) for m in provider_call(fetch)]


# --- calls ----------------------------------------------------------------------------------


def _call_info(call: Any) -> CallInfo:
    return CallInfo(
        sid=call.sid,
        status=call.status,
        to=call.to,
        from_=call._from,  # the SDK's CallInstance spells it so (MessageInstance says from_)
        answered_by=call.answered_by,
        duration=_int_or_none(call.duration),
    )


def call_create(
    *,
    to: str,
    from_: str,
    url: str,
    status_callback: str | None = None,
    machine_detection: str | None = None,
    **extra: Any,
) -> CallInfo:
    """Place an outbound call whose TwiML is fetched from `url` (POST, as our webhooks expect).

    `extra` takes the SDK's other create() arguments, e.g. status_callback_event=[...],
    machine_detection_timeout=30, async_amd="true", time_limit=600.
    """
    call = provider_call(
        lambda: twilio_client().calls.create(
            to=to,
            from_=from_,
            url=url,
            method="POST",
            status_callback=status_callback,
            status_callback_method="POST" if status_callback else None,
            machine_detection=machine_detection,
            **extra,
        )
    )
    return _call_info(call)


def calls_recent(*, from_: str, started_after: datetime, limit: int = 5000) -> list[CallInfo]:
    """Calls from ``from_`` started (or created) at or after ``started_after``, to find a call
    whose create timed out before anyone dials that number again."""
    since = started_after - timedelta(seconds=1)
    records = provider_call(
        lambda: list(
            twilio_client().calls.stream(
                from_=from_, start_time_after=since, page_size=1000, limit=limit
            )
        )
    )
    return [_call_info(c) for c in records]


async def call_create_async(
    *,
    to: str,
    from_: str,
    url: str,
    status_callback: str | None = None,
    machine_detection: str | None = None,
    **extra: Any,
) -> CallInfo:
    """call_create for an event loop (same arguments, result and errors)."""
    client = _current_async_client()
    try:
        call = await client.calls.create_async(
            to=to,
            from_=from_,
            url=url,
            method="POST",
            status_callback=status_callback,
            status_callback_method="POST" if status_callback else None,
            machine_detection=machine_detection,
            **extra,
        )
    except TwilioException as exc:
        raise _sdk_error(exc) from exc
    return _call_info(call)


def call_fetch(*, sid: str) -> CallInfo:
    return _call_info(provider_call(lambda: twilio_client().calls(sid).fetch()))


def call_update(
    *, sid: str, status: str | None = None, url: str | None = None, twiml: str | None = None
) -> CallInfo:
    """Hang up (status="completed", or "canceled" before it rings) or redirect a live call."""
    changes = {"status": status, "url": url, "method": "POST" if url else None, "twiml": twiml}
    fields = {name: value for name, value in changes.items() if value is not None}
    return _call_info(provider_call(lambda: twilio_client().calls(sid).update(**fields)))


# --- phone numbers --------------------------------------------------------------------------


def numbers_search(
    *, country: str, area_code: str | None = None, limit: int = 20
) -> list[AvailableNumber]:
    """Local SMS-capable numbers for sale in `country` (ISO code), optionally in an area code."""
    if area_code is not None and not area_code.isdigit():
        raise ValueError(f"area code must be digits, not {area_code!r}")
    options: dict[str, Any] = {"sms_enabled": True, "limit": limit, "page_size": limit}
    if area_code:
        options["area_code"] = int(area_code)
    found = provider_call(
        lambda: twilio_client().available_phone_numbers(country.upper()).local.list(**options)
    )
    return [
        AvailableNumber(
            phone_number=n.phone_number,
            friendly_name=n.friendly_name,
            iso_country=n.iso_country,
            locality=n.locality,
            region=n.region,
            sms=bool((n.capabilities or {}).get("sms") or (n.capabilities or {}).get("SMS")),
            voice=bool((n.capabilities or {}).get("voice")),
        )
        for n in found
    ]


def _incoming_number(number: Any) -> IncomingNumber:
    return IncomingNumber(
        sid=number.sid,
        phone_number=number.phone_number,
        sms_url=number.sms_url or None,
        voice_url=number.voice_url or None,
        status_callback=number.status_callback or None,
    )


def number_buy(
    *, phone_number: str, sms_url: str, voice_url: str, status_callback: str
) -> IncomingNumber:
    """Buy `phone_number` with its inbound SMS, voice and status webhooks set (all POST)."""
    number = provider_call(
        lambda: twilio_client().incoming_phone_numbers.create(
            phone_number=phone_number,
            sms_url=sms_url,
            sms_method="POST",
            voice_url=voice_url,
            voice_method="POST",
            status_callback=status_callback,
            status_callback_method="POST",
        )
    )
    return _incoming_number(number)


def number_update(
    *,
    sid: str,
    sms_url: str | None = None,
    voice_url: str | None = None,
    status_callback: str | None = None,
    friendly_name: str | None = None,
) -> IncomingNumber:
    """Change an owned number's webhooks or name; arguments left None stay as they are."""
    changes = {
        "sms_url": sms_url,
        "sms_method": "POST" if sms_url else None,
        "voice_url": voice_url,
        "voice_method": "POST" if voice_url else None,
        "status_callback": status_callback,
        "status_callback_method": "POST" if status_callback else None,
        "friendly_name": friendly_name,
    }
    fields = {name: value for name, value in changes.items() if value is not None}
    number = provider_call(lambda: twilio_client().incoming_phone_numbers(sid).update(**fields))
    return _incoming_number(number)


def number_release(*, sid: str) -> None:
    """Give an owned number back to Twilio (it stops receiving texts and calls at once)."""
    provider_call(lambda: twilio_client().incoming_phone_numbers(sid).delete())


# --- the same, without threads: one event loop keeping hundreds of sends in flight ---------


# Set around one *_async call: called with time.monotonic() once the request's headers are on
# the wire, so a caller pacing requests knows when each one really left, not when it was started.
on_wire: contextvars.ContextVar[Callable[[float], None] | None] = contextvars.ContextVar(
    "twilio_on_wire", default=None
)


class _WiredRequest(aiohttp.ClientRequest):
    """A request that tells ``on_wire`` when it was handed to its connection.

    The same moment aiohttp's request-headers-sent trace reports, without a trace: tracing
    makes aiohttp build trace objects and fire signals for every request, which at thousands of
    requests a second was a twentieth of the CPU a send costs."""

    async def send(self, conn: Any) -> aiohttp.ClientResponse:
        response = await super().send(conn)
        report = on_wire.get()
        if report is not None:
            report(time.monotonic())
        return response


def form_encoded(data: Mapping[str, object] | None) -> bytes | None:
    """The SDK's form fields as the body Twilio reads (``application/x-www-form-urlencoded``,
    UTF-8, lists as repeated keys): what aiohttp's FormData makes of the same dict, without
    building a FormData, a multipart writer and a payload lookup for each request.

    The bytes of ``urlencode(…, doseq=True)``, with texts escaped by one ``str.translate``
    (``_FORM_ESCAPES``) instead of urllib's per-byte list: 26 µs → 6 µs for a text's four
    fields, at a thousand and more a second. Values that are not texts (lists, numbers) go
    through ``urlencode`` itself."""
    if not data:
        return None
    fields = []
    for key, value in data.items():
        if isinstance(key, str) and isinstance(value, str):
            fields.append(f"{key.translate(_FORM_ESCAPES)}={value.translate(_FORM_ESCAPES)}")
        elif encoded := urlencode([(key, value)], doseq=True, encoding="utf-8"):
            fields.append(encoded)  # an empty list adds no field
    return "&".join(fields).encode()


class _FormEscapeTable(dict):
    """``str.translate``'s table for a form field: what ``urllib.parse.quote_plus`` makes of
    each character (letters, digits and ``_.-~`` as they are, a space as ``+``, anything else
    as the %XX of its UTF-8 bytes), filled in as characters are met. Kept only below U+0800
    (ASCII, Latin, Greek, Cyrillic, Hebrew, Arabic: 2,048 entries at most), so texts in other
    scripts cannot grow it without bound; those are escaped each time."""

    def __missing__(self, codepoint: int) -> str:
        char = chr(codepoint)
        if char == " ":
            escaped = "+"
        elif char.isascii() and (char.isalnum() or char in "_.-~"):
            escaped = char
        else:  # a lone surrogate raises here, as it does in urlencode
            escaped = "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        if codepoint < 0x800:
            self[codepoint] = escaped
        return escaped


_FORM_ESCAPES = _FormEscapeTable()


class _AsyncGatewayHttpClient(AsyncHttpClient):
    """aiohttp for the SDK's *_async methods: redirected, pooled, with a timeout that holds.

    Written against the SDK's abstract AsyncHttpClient rather than AsyncTwilioHttpClient,
    which passes timeout=None to aiohttp (meaning: wait forever) unless each call gives one.
    """

    def __init__(
        self,
        *,
        api_bases: Mapping[str, str],
        timeout: float,
        max_connections: int,
        auth: tuple[str, str],
    ) -> None:
        super().__init__(logger, True, timeout)
        self.redirect = _Redirect(api_bases)
        credentials = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        self._authorization = f"Basic {credentials}"
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_connections),
            timeout=aiohttp.ClientTimeout(total=timeout),
            request_class=_WiredRequest,
        )

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        headers = {**(headers or {}), "Authorization": self._authorization}
        # The SDK gives a form's Content-Type in the headers for POST and PUT.
        body = form_encoded(data) if method in ("POST", "PUT") else data
        try:
            async with self.session.request(
                method,
                self.redirect(url),
                params=params,
                data=body,
                headers=headers,
                # No timeout of its own: the session's (TWILIO_TIMEOUT) holds.
                **({"timeout": aiohttp.ClientTimeout(total=timeout)} if timeout else {}),
                allow_redirects=allow_redirects,
            ) as response:
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _async_transport_error(exc) from exc
        if response.status >= 400:
            raise _response_error(response.status, text, response.headers)
        return Response(response.status, text, response.headers)

    async def close(self) -> None:
        await self.session.close()


def _async_transport_error(exc: BaseException) -> ProviderError:
    never_sent = isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)
    kind = "timed out" if isinstance(exc, TimeoutError) else "connection failed"
    return ProviderError(
        f"Twilio request {kind}: {exc!r}", permanent=False, ambiguous=not never_sent
    )


_async_client: contextvars.ContextVar[Client] = contextvars.ContextVar("twilio_async_client")


@asynccontextmanager
async def async_session() -> AsyncIterator[Client]:
    """Open an aiohttp-backed client for the running event loop; *_async functions use it.

        async with twilio_gateway.async_session():
            sent = await asyncio.gather(*(twilio_gateway.sms_send_async(...) for ...))

    aiohttp sessions belong to one loop, so this is scoped to the block (and the tasks started
    in it) instead of being cached per process like the threaded client.
    """
    account_sid, auth_token, bases, timeout, max_connections = _client_settings()
    http_client = _AsyncGatewayHttpClient(
        api_bases=dict(bases),
        timeout=timeout,
        max_connections=max_connections,
        auth=(account_sid, auth_token),
    )
    client = Client(account_sid, auth_token, http_client=http_client, environment={})
    token = _async_client.set(client)
    try:
        yield client
    finally:
        _async_client.reset(token)
        await http_client.close()


_loop_clients: dict[int, tuple[tuple[Any, ...], Client, _AsyncGatewayHttpClient]] = {}
_closing: set[asyncio.Task] = set()


def _loop_client() -> Client:
    """Outside ``async_session()``: a client kept for the running loop (the engine's sending
    loop lives as long as its process), rebuilt when the Twilio settings change."""
    loop = asyncio.get_running_loop()
    key = _client_settings()
    cached = _loop_clients.get(id(loop))
    if cached is not None and cached[0] == key:
        return cached[1]
    if cached is not None:
        _closing.add(task := loop.create_task(cached[2].close()))
        task.add_done_callback(_closing.discard)
    account_sid, auth_token, bases, timeout, max_connections = key
    http_client = _AsyncGatewayHttpClient(
        api_bases=dict(bases),
        timeout=timeout,
        max_connections=max_connections,
        auth=(account_sid, auth_token),
    )
    client = Client(account_sid, auth_token, http_client=http_client, environment={})
    _loop_clients[id(loop)] = (key, client, http_client)
    return client


def _current_async_client() -> Client:
    client = _async_client.get(None)  # no exception raised and caught on every send
    return client if client is not None else _loop_client()


async def sms_send_async(
    *,
    to: str,
    from_: str,
    body: str,
    status_callback: str | None = None,
    messaging_service_sid: str | None = None,
) -> SentMessage:
    """sms_send for an event loop (same arguments, result and errors). With a Messaging
    Service the text goes through it (Twilio picks the sender from its pool) instead of
    ``from_``."""
    client = _current_async_client()
    sender = {"messaging_service_sid": messaging_service_sid} if messaging_service_sid else {}
    try:
        message = await client.messages.create_async(
            to=to,
            body=body,
            status_callback=status_callback,
            **(sender or {"from_": from_}),
        )
    except TwilioException as exc:
        raise _sdk_error(exc) from exc
    return SentMessage(
        sid=message.sid, status=message.status, num_segments=_int_or_none(message.num_segments)
    )


# --- webhooks -------------------------------------------------------------------------------


def webhook_signature_valid(*, url: str, params: Mapping[str, Any], signature: str) -> bool:
    """Whether X-Twilio-Signature `signature` is Twilio's for this URL and POST parameters.

    `url` is the full URL Twilio requested (scheme, host, path and query as Twilio saw them,
    i.e. behind a proxy the public one); `params` the POST form (a QueryDict is fine). Without
    an auth token nothing is valid: an empty HMAC key would let anyone sign.
    """
    token = settings.TWILIO_AUTH_TOKEN
    if not token or not signature:
        return False
    return bool(RequestValidator(token).validate(url, params, signature))
