"""The stand-in's Messaging Services (messaging.twilio.com/v1): Services, their sender pool
(PhoneNumbers) and alphanumeric sender IDs (AlphaSenders).

A number added to a service's pool must be one the account owns (IncomingPhoneNumbers of the
same stand-in), as on Twilio, and may be in one service only (21710 otherwise). The pool is
what the stand-in's Messages create sends from when a message names the service, so a test
that creates a service and adds a number through the API then sends through it end to end.
Deleting a service frees its numbers; releasing a number (IncomingPhoneNumbers DELETE) takes
it out of its pool, as on Twilio. A service with an alphanumeric sender ID sends messages to
Australian numbers (+61) from it, others from the pool (Twilio picks the sender ID where the
destination country supports one).

    standin.messaging.services            # sid -> StandinService (params as sent, pool, alpha)
    standin.messaging.pool_of(sid)        # the E.164 numbers in the pool
    standin.messaging.fail_next("number_add", status=503)   # one operation fails, once

Hooked into TwilioStandin by ``MessagingHost(server).add_routes(app)``.
"""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import web

BASE = "https://messaging.twilio.com/v1"
ALREADY_IN_SERVICE = 21710
OPERATIONS = frozenset(
    {"service_create", "number_add", "number_remove", "alpha_add", "alpha_remove"}
)
ALPHA = re.compile(r"^[A-Za-z0-9 +\-_&]{1,11}$")


@dataclass(slots=True)
class StandinService:
    sid: str
    params: dict[str, str]
    created_at: float
    updated_at: float
    # number sid (PN…) -> (E.164, when added)
    numbers: dict[str, tuple[str, float]] = field(default_factory=dict)
    # alpha sender sid (AI…) -> (sender ID, when added)
    alpha_senders: dict[str, tuple[str, float]] = field(default_factory=dict)


def _sid(prefix: str) -> str:
    return f"{prefix}{random.getrandbits(128):032x}"


def _date(epoch: float) -> str:
    return format_datetime(datetime.fromtimestamp(epoch, UTC).replace(microsecond=0))


def _error(status: int, code: int, message: str) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)


def _not_found(path: str) -> web.Response:
    return _error(404, 20404, f"The requested resource {path} was not found")


def _boolean(value: str | None, default: bool) -> bool:
    return default if value is None else value.lower() == "true"


class MessagingHost:
    def __init__(self, server) -> None:
        self.server = server
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._services: dict[str, StandinService] = {}
            self._failures: dict[str, list[int]] = {}

    def fail_next(self, operation: str, *, status: int = 503, count: int = 1) -> None:
        """The next `count` requests of `operation` (service_create, number_add, number_remove,
        alpha_add, alpha_remove) answer `status` and change nothing."""
        if operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {sorted(OPERATIONS)}")
        with self._lock:
            self._failures.setdefault(operation, []).extend([status] * count)

    def _failure(self, operation: str) -> web.Response | None:
        with self._lock:
            queued = self._failures.get(operation)
            status = queued.pop(0) if queued else None
        if status is None:
            return None
        return _error(status, 20000 + status, "Service Unavailable" if status == 503 else "Error")

    @property
    def services(self) -> dict[str, StandinService]:
        with self._lock:
            return {sid: replace(s, numbers=dict(s.numbers)) for sid, s in self._services.items()}

    def pool_of(self, sid: str) -> list[str]:
        with self._lock:
            service = self._services.get(sid)
            return [e164 for e164, _ in service.numbers.values()] if service else []

    def alpha_sender_for(self, sid: str, to: str) -> str | None:
        """The service's sender ID, for a destination where sender IDs are used (Australia,
        here); None elsewhere, where a number of the pool sends."""
        if not to.startswith("+61"):
            return None
        with self._lock:
            service = self._services.get(sid)
            senders = list(service.alpha_senders.values()) if service else []
        return senders[0][0] if senders else None

    def add_routes(self, app: web.Application) -> None:
        mg = "{service:MG[0-9a-fA-F]{32}}"
        sid = "{sid:[A-Za-z0-9]+}"
        routes = [
            ("POST", "/v1/Services", self._service_create),
            ("GET", "/v1/Services", self._service_list),
            ("GET", f"/v1/Services/{mg}", self._service_fetch),
            ("POST", f"/v1/Services/{mg}", self._service_update),
            ("DELETE", f"/v1/Services/{mg}", self._service_delete),
            ("POST", f"/v1/Services/{mg}/PhoneNumbers", self._number_add),
            ("GET", f"/v1/Services/{mg}/PhoneNumbers", self._number_list),
            ("DELETE", f"/v1/Services/{mg}/PhoneNumbers/{sid}", self._number_remove),
            ("POST", f"/v1/Services/{mg}/AlphaSenders", self._alpha_add),
            ("GET", f"/v1/Services/{mg}/AlphaSenders", self._alpha_list),
            ("DELETE", f"/v1/Services/{mg}/AlphaSenders/{sid}", self._alpha_remove),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)

    # --- the pool the stand-in's Messages create sends from -------------------------------------

    def _sync_pool(self, service: StandinService) -> None:
        numbers = [e164 for e164, _ in service.numbers.values()]
        with self.server._lock:
            if numbers:
                self.server._services[service.sid] = numbers
            else:
                self.server._services.pop(service.sid, None)

    def number_released(self, number_sid: str) -> None:
        """Twilio takes a released number out of its service's pool."""
        with self._lock:
            changed = [s for s in self._services.values() if s.numbers.pop(number_sid, None)]
        for service in changed:
            self._sync_pool(service)

    # --- Services ------------------------------------------------------------------------------

    def _json(self, service: StandinService) -> dict[str, Any]:
        p = service.params
        url = f"{BASE}/Services/{service.sid}"
        return {
            "sid": service.sid,
            "account_sid": self.server.account_sid,
            "friendly_name": p.get("FriendlyName"),
            "date_created": _date(service.created_at),
            "date_updated": _date(service.updated_at),
            "inbound_request_url": p.get("InboundRequestUrl"),
            "inbound_method": p.get("InboundMethod", "POST"),
            "fallback_url": p.get("FallbackUrl"),
            "fallback_method": p.get("FallbackMethod", "POST"),
            "status_callback": p.get("StatusCallback"),
            "sticky_sender": _boolean(p.get("StickySender"), True),
            "mms_converter": _boolean(p.get("MmsConverter"), True),
            "smart_encoding": _boolean(p.get("SmartEncoding"), True),
            "scan_message_content": p.get("ScanMessageContent", "inherit"),
            "fallback_to_long_code": _boolean(p.get("FallbackToLongCode"), True),
            "area_code_geomatch": _boolean(p.get("AreaCodeGeomatch"), True),
            "synchronous_validation": False,
            "validity_period": int(p.get("ValidityPeriod", 14400)),
            "url": url,
            "links": {
                "phone_numbers": f"{url}/PhoneNumbers",
                "alpha_senders": f"{url}/AlphaSenders",
                "us_app_to_person": f"{url}/Compliance/Usa2p",
            },
            "usecase": p.get("Usecase", "undeclared"),
            "us_app_to_person_registered": False,
            "use_inbound_webhook_on_number": _boolean(p.get("UseInboundWebhookOnNumber"), False),
        }

    async def _form(self, request: web.Request) -> dict[str, str]:
        return {key: str(value) for key, value in (await request.post()).items()}

    def _service(self, request: web.Request) -> StandinService | None:
        with self._lock:
            return self._services.get(request.match_info["service"])

    async def _service_create(self, request: web.Request) -> web.Response:
        failed = self._failure("service_create")
        if failed is not None:
            return failed
        form = await self._form(request)
        if not form.get("FriendlyName"):
            return _error(400, 20001, "Missing required parameter FriendlyName in the post body")
        if len(form["FriendlyName"]) > 64:
            return _error(400, 20001, "FriendlyName is longer than 64 characters")
        now = time.time()
        service = StandinService(_sid("MG"), form, now, now)
        with self._lock:
            self._services[service.sid] = service
        return web.json_response(self._json(service), status=201)

    async def _service_list(self, request: web.Request) -> web.Response:
        with self._lock:
            found = list(self._services.values())
        size = min(int(request.query.get("PageSize", 50)), 1000)
        page = [self._json(s) for s in found[:size]]
        meta = {
            "page": 0,
            "page_size": size,
            "first_page_url": f"{BASE}/Services?PageSize={size}&Page=0",
            "previous_page_url": None,
            "url": f"{BASE}/Services?PageSize={size}&Page=0",
            "next_page_url": None,
            "key": "services",
        }
        return web.json_response({"services": page, "meta": meta})

    async def _service_fetch(self, request: web.Request) -> web.Response:
        service = self._service(request)
        if service is None:
            return _not_found(request.path)
        return web.json_response(self._json(service))

    async def _service_update(self, request: web.Request) -> web.Response:
        service = self._service(request)
        if service is None:
            return _not_found(request.path)
        form = await self._form(request)
        with self._lock:
            service.params.update(form)
            service.updated_at = time.time()
        return web.json_response(self._json(service))

    async def _service_delete(self, request: web.Request) -> web.Response:
        with self._lock:
            service = self._services.pop(request.match_info["service"], None)
        if service is None:
            return _not_found(request.path)
        service.numbers.clear()
        self._sync_pool(service)
        return web.Response(status=204)

    # --- the sender pool -----------------------------------------------------------------------

    def _number_json(self, service: StandinService, sid: str) -> dict[str, Any]:
        e164, added = service.numbers[sid]
        return {
            "sid": sid,
            "account_sid": self.server.account_sid,
            "service_sid": service.sid,
            "date_created": _date(added),
            "date_updated": _date(added),
            "phone_number": e164,
            "country_code": "AU" if e164.startswith("+61") else "US",
            "capabilities": ["SMS", "Voice"],
            "url": f"{BASE}/Services/{service.sid}/PhoneNumbers/{sid}",
        }

    async def _number_add(self, request: web.Request) -> web.Response:
        failed = self._failure("number_add")
        if failed is not None:
            return failed
        service = self._service(request)
        if service is None:
            return _not_found(request.path)
        number_sid = (await self._form(request)).get("PhoneNumberSid", "")
        if not number_sid:
            return _error(400, 20001, "Missing required parameter PhoneNumberSid in the post body")
        owned = self.server.numbers.get(number_sid)
        if owned is None:
            return _error(404, 20404, f"Phone number {number_sid} was not found on this account")
        with self._lock:
            if any(number_sid in s.numbers for s in self._services.values()):
                return _error(
                    409,
                    ALREADY_IN_SERVICE,
                    "Phone Number or Short Code is already in the Messaging Service.",
                )
            service.numbers[number_sid] = (owned.phone_number, time.time())
        self._sync_pool(service)
        return web.json_response(self._number_json(service, number_sid), status=201)

    async def _number_list(self, request: web.Request) -> web.Response:
        service = self._service(request)
        if service is None:
            return _not_found(request.path)
        with self._lock:
            rows = [self._number_json(service, sid) for sid in service.numbers]
        return web.json_response({"phone_numbers": rows, "meta": {"key": "phone_numbers"}})

    async def _number_remove(self, request: web.Request) -> web.Response:
        failed = self._failure("number_remove")
        if failed is not None:
            return failed
        service = self._service(request)
        with self._lock:
            removed = service.numbers.pop(request.match_info["sid"], None) if service else None
        if removed is None:
            return _not_found(request.path)
        self._sync_pool(service)
        return web.Response(status=204)

    # --- alphanumeric sender IDs ---------------------------------------------------------------

    def _alpha_json(self, service: StandinService, sid: str) -> dict[str, Any]:
        alpha, added = service.alpha_senders[sid]
        return {
            "sid": sid,
            "account_sid": self.server.account_sid,
            "service_sid": service.sid,
            "date_created": _date(added),
            "date_updated": _date(added),
            "alpha_sender": alpha,
            "capabilities": ["SMS"],
            "url": f"{BASE}/Services/{service.sid}/AlphaSenders/{sid}",
        }

    async def _alpha_add(self, request: web.Request) -> web.Response:
        failed = self._failure("alpha_add")
        if failed is not None:
            return failed
        service = self._service(request)
        if service is None:
            return _not_found(request.path)
        alpha = (await self._form(request)).get("AlphaSender", "")
        if not ALPHA.match(alpha) or alpha.isdigit():
            return _error(400, 21709, f"Invalid Alpha Sender ID {alpha!r}")
        with self._lock:
            if service.alpha_senders:
                return _error(409, 21711, "The Messaging Service already has an Alpha Sender ID")
            sid = _sid("AI")
            service.alpha_senders[sid] = (alpha, time.time())
            return web.json_response(self._alpha_json(service, sid), status=201)

    async def _alpha_list(self, request: web.Request) -> web.Response:
        service = self._service(request)
        if service is None:
            return _not_found(request.path)
        with self._lock:
            rows = [self._alpha_json(service, sid) for sid in service.alpha_senders]
        return web.json_response({"alpha_senders": rows, "meta": {"key": "alpha_senders"}})

    async def _alpha_remove(self, request: web.Request) -> web.Response:
        failed = self._failure("alpha_remove")
        if failed is not None:
            return failed
        service = self._service(request)
        with self._lock:
            removed = (
                service.alpha_senders.pop(request.match_info["sid"], None) if service else None
            )
        if removed is None:
            return _not_found(request.path)
        return web.Response(status=204)
