"""The stand-in's registration hosts: Trust Hub (trusthub.twilio.com/v1), the A2P 10DLC and
toll-free parts of messaging.twilio.com/v1, and the Addresses of api.twilio.com a business
profile's address document points at.

It keeps each registration's state the way Twilio does, and slowly: a customer profile or
trust product is ``draft`` until submitted (``Status=pending-review``), a brand ``PENDING``, a
campaign ``PENDING``, a toll-free verification ``PENDING_REVIEW``; each goes "in review" after
``review_delay`` seconds and then stays there until a decision. A decision comes from a script
(for the next resources of a kind) or is given for one sid:

    standin.registration.script("brand", approve(after=0.2))
    standin.registration.script("campaign", fail(30544, after=0.2), approve(after=0.2))
    standin.registration.approve_all(after=0.1)      # every kind, every submission from now
    standin.registration.fail(sid, 30558, after=0.5)
    standin.registration.approve(sid)
    standin.registration.lose_next_answer("brand")  # created, but answered 502
    standin.registration.resources                    # sid -> Resource (kind, fields, status)
    standin.registration.end_users, .documents, .addresses   # what the business profile holds

A resubmission (brand update, toll-free update, profile submitted again) takes the kind's next
scripted outcome. Customer profiles and trust products created with a StatusCallback have each
status change POSTed there, signed like every stand-in callback (their sid in ``BundleSid``).

Hooked into TwilioStandin by ``RegistrationHost(server).add_routes(app)``.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.twilio_standin.server import TwilioStandin

# Twilio's words for a few registration failures (anything else gets a generic text).
FAILURE_TEXTS = {
    30544: "Call-to-Action does not state the message purpose",
    30545: "Call-to-Action does not state message frequency",
    30551: "Consent does not specify SMS or text messaging",
    30558: "Terms of Service missing message frequency disclosure",
    30569: "Call-to-Action is missing the message and data rates disclosure",
    30570: "Call-to-Action is missing customer support instructions",
    30893: "Campaign vetting rejection - Inconsistency between Sample Message and Use-case",
}

# kind -> (status at creation, on submission, in review, approved, failed)
STATUSES = {
    "profile": ("draft", "pending-review", "in-review", "twilio-approved", "twilio-rejected"),
    "trust_product": ("draft", "pending-review", "in-review", "twilio-approved", "twilio-rejected"),
    "brand": ("PENDING", "PENDING", "IN_REVIEW", "APPROVED", "FAILED"),
    "campaign": ("PENDING", "PENDING", "IN_PROGRESS", "VERIFIED", "FAILED"),
    "tollfree": (
        "PENDING_REVIEW",
        "PENDING_REVIEW",
        "IN_REVIEW",
        "TWILIO_APPROVED",
        "TWILIO_REJECTED",
    ),
}
PREFIXES = {
    "profile": "BU",
    "trust_product": "BU",
    "brand": "BN",
    "campaign": "QE",
    "tollfree": "HH",
    "end_user": "IT",
    "assignment": "BV",
    "evaluation": "EL",
}
REQUIRED = {
    "profile": ("FriendlyName", "Email", "PolicySid"),
    "trust_product": ("FriendlyName", "Email", "PolicySid"),
    "end_user": ("FriendlyName", "Type"),
    "document": ("FriendlyName", "Type"),
    "address": ("CustomerName", "Street", "City", "Region", "PostalCode", "IsoCountry"),
    "brand": ("CustomerProfileBundleSid", "A2PProfileBundleSid"),
    "campaign": (
        "BrandRegistrationSid",
        "Description",
        "MessageFlow",
        "MessageSamples",
        "UsAppToPersonUsecase",
        "HasEmbeddedLinks",
        "HasEmbeddedPhone",
    ),
    "tollfree": (
        "BusinessName",
        "BusinessWebsite",
        "NotificationEmail",
        "UseCaseCategories",
        "UseCaseSummary",
        "ProductionMessageSample",
        "OptInImageUrls",
        "OptInType",
        "MessageVolume",
        "TollfreePhoneNumberSid",
    ),
}


@dataclass(frozen=True, slots=True)
class Outcome:
    approved: bool
    code: int | None = None
    reason: str = ""
    after: float = 0.0


def approve(*, after: float = 0.0) -> Outcome:
    return Outcome(True, after=after)


def fail(code: int, *, reason: str = "", after: float = 0.0) -> Outcome:
    return Outcome(False, code, reason or FAILURE_TEXTS.get(code, "Registration rejected"), after)


@dataclass
class Resource:
    """One registration resource. ``events`` are (time, status, errors): the status of a
    moment is the last event at or before it."""

    kind: str
    sid: str
    fields: dict[str, Any]
    events: list[tuple[float, str, list[dict[str, Any]]]] = field(default_factory=list)
    assignments: list[str] = field(default_factory=list)
    submissions: int = 0
    otps: int = 0  # sole proprietor brands: confirmation texts sent again

    def state(self, now: float | None = None) -> tuple[str, list[dict[str, Any]]]:
        now = time.time() if now is None else now
        current = self.events[0]
        for event in self.events:
            if event[0] <= now:
                current = event
        return current[1], current[2]

    @property
    def status(self) -> str:
        return self.state()[0]


class RegistrationHost:
    """The registration resources of one stand-in, and the controls over them."""

    def __init__(self, server: TwilioStandin, *, review_delay: float = 0.05) -> None:
        self.server = server
        self.review_delay = review_delay
        self._lock = threading.Lock()
        self.reset()

    # --- control, from any thread ----------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.resources: dict[str, Resource] = {}
            self.end_users: dict[str, dict[str, Any]] = {}
            self.documents: dict[str, dict[str, Any]] = {}
            self.addresses: dict[str, dict[str, str]] = {}
            self._scripts: dict[str, deque[Outcome]] = {}
            self._default: Outcome | None = None
            self._lose: set[str] = set()

    def script(self, kind: str, *outcomes: Outcome) -> None:
        """The decisions for the next submissions of ``kind`` (in order)."""
        with self._lock:
            self._scripts.setdefault(kind, deque()).extend(outcomes)

    def approve_all(self, *, after: float = 0.0) -> None:
        """Every submission without a scripted outcome is approved ``after`` seconds later."""
        with self._lock:
            self._default = approve(after=after)

    def approve(self, sid: str, *, after: float = 0.0) -> None:
        self._decide(self.resources[sid], approve(after=after))

    def fail(self, sid: str, code: int, *, reason: str = "", after: float = 0.0) -> None:
        self._decide(self.resources[sid], fail(code, reason=reason, after=after))

    def of_kind(self, kind: str) -> list[Resource]:
        with self._lock:
            return [r for r in self.resources.values() if r.kind == kind]

    # --- lifecycle -------------------------------------------------------------------------

    def _create(self, kind: str, fields: dict[str, Any]) -> Resource:
        sid = f"{PREFIXES[kind]}{random.getrandbits(128):032x}"
        resource = Resource(kind, sid, fields, [(time.time(), STATUSES[kind][0], [])])
        with self._lock:
            self.resources[sid] = resource
        return resource

    def _submit(self, resource: Resource) -> None:
        _, submitted, in_review, _, _ = STATUSES[resource.kind]
        now = time.time()
        with self._lock:
            resource.submissions += 1
            resource.events = [e for e in resource.events if e[0] <= now]
            resource.events.append((now, submitted, []))
            resource.events.append((now + self.review_delay, in_review, []))
            scripted = self._scripts.get(resource.kind)
            outcome = scripted.popleft() if scripted else self._default
        self._announce(resource, now + self.review_delay, in_review)
        if outcome is not None:
            self._decide(resource, outcome)

    def _decide(self, resource: Resource, outcome: Outcome) -> None:
        *_, approved, failed = STATUSES[resource.kind]
        at = time.time() + max(outcome.after, self.review_delay)
        errors = []
        if not outcome.approved:
            errors = [{"code": outcome.code, "description": outcome.reason}]
        status = approved if outcome.approved else failed
        with self._lock:
            resource.events.append((at, status, errors))
            resource.events.sort(key=lambda event: event[0])
        self._announce(resource, at, status)

    def _announce(self, resource: Resource, at: float, status: str) -> None:
        url = resource.fields.get("StatusCallback")
        if not url or resource.kind not in ("profile", "trust_product"):
            return
        params = {
            "AccountSid": self.server.account_sid,
            "BundleSid": resource.sid,
            "Status": status,
        }
        loop = self.server._loop
        if loop is None:
            return

        async def later() -> None:
            await asyncio.sleep(max(0.0, at - time.time()))
            await self.server._post_callback(url, params)

        loop.call_soon_threadsafe(self.server._spawn, later())

    # --- HTTP ------------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        sid = "{sid:[A-Za-z0-9]+}"
        routes = [
            ("POST", "/v1/CustomerProfiles", self._bundle_create("profile")),
            ("GET", f"/v1/CustomerProfiles/{sid}", self._fetch("profile")),
            ("POST", f"/v1/CustomerProfiles/{sid}", self._bundle_update("profile")),
            ("POST", f"/v1/CustomerProfiles/{sid}/EntityAssignments", self._assign("profile")),
            ("POST", f"/v1/CustomerProfiles/{sid}/Evaluations", self._evaluate("profile")),
            ("POST", "/v1/TrustProducts", self._bundle_create("trust_product")),
            ("GET", f"/v1/TrustProducts/{sid}", self._fetch("trust_product")),
            ("POST", f"/v1/TrustProducts/{sid}", self._bundle_update("trust_product")),
            ("POST", f"/v1/TrustProducts/{sid}/EntityAssignments", self._assign("trust_product")),
            ("POST", f"/v1/TrustProducts/{sid}/Evaluations", self._evaluate("trust_product")),
            ("POST", "/v1/EndUsers", self._end_user_create),
            ("POST", f"/v1/EndUsers/{sid}", self._end_user_update),
            ("POST", "/v1/SupportingDocuments", self._document_create),
            ("POST", f"/v1/SupportingDocuments/{sid}", self._document_update),
            ("POST", "/2010-04-01/Accounts/{account}/Addresses.json", self._address_create),
            (
                "POST",
                f"/2010-04-01/Accounts/{{account}}/Addresses/{sid}.json",
                self._address_update,
            ),
            ("POST", "/v1/a2p/BrandRegistrations", self._brand_create),
            ("GET", "/v1/a2p/BrandRegistrations", self._list("brand", "data")),
            ("GET", f"/v1/a2p/BrandRegistrations/{sid}", self._fetch("brand")),
            ("POST", f"/v1/a2p/BrandRegistrations/{sid}", self._resubmit("brand")),
            ("POST", f"/v1/a2p/BrandRegistrations/{sid}/SmsOtp", self._otp),
            ("POST", "/v1/Services/{service}/Compliance/Usa2p", self._campaign_create),
            (
                "GET",
                "/v1/Services/{service}/Compliance/Usa2p",
                self._list("campaign", "compliance"),
            ),
            ("GET", f"/v1/Services/{{service}}/Compliance/Usa2p/{sid}", self._fetch("campaign")),
            ("DELETE", f"/v1/Services/{{service}}/Compliance/Usa2p/{sid}", self._campaign_delete),
            ("POST", "/v1/Tollfree/Verifications", self._tollfree_create),
            ("GET", "/v1/Tollfree/Verifications", self._list("tollfree", "verifications")),
            ("GET", f"/v1/Tollfree/Verifications/{sid}", self._fetch("tollfree")),
            ("POST", f"/v1/Tollfree/Verifications/{sid}", self._tollfree_update),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)

    async def _form(self, request: web.Request) -> dict[str, list[str]]:
        form = await request.post()
        lists: dict[str, list[str]] = {}
        for key, value in form.items():
            lists.setdefault(key, []).append(str(value))
        return lists

    def _missing(self, kind: str, form: dict[str, list[str]]) -> web.Response | None:
        for name in REQUIRED[kind]:
            if not form.get(name):
                return _error(400, 20001, f"Missing required parameter {name}")
        return None

    def _found(self, request: web.Request, kind: str) -> Resource | None:
        resource = self.resources.get(request.match_info["sid"])
        return resource if resource is not None and resource.kind == kind else None

    def _list(self, kind: str, key: str):
        """One page of every resource of ``kind`` (a campaign list: of the path's service; a
        toll-free list: filtered by TollfreePhoneNumberSid when given)."""

        async def handler(request: web.Request) -> web.Response:
            found = self.of_kind(kind)
            service = request.match_info.get("service")
            if service is not None:
                found = [r for r in found if r.fields.get("MessagingServiceSid") == service]
            number = request.query.get("TollfreePhoneNumberSid")
            if number:
                found = [r for r in found if r.fields.get("TollfreePhoneNumberSid") == number]
            meta = {
                "key": key,
                "page": 0,
                "page_size": len(found),
                "first_page_url": str(request.url),
                "next_page_url": None,
                "previous_page_url": None,
                "url": str(request.url),
            }
            return web.json_response({key: [self._json(r) for r in found], "meta": meta})

        return handler

    async def _otp(self, request: web.Request) -> web.Response:
        brand = self._found(request, "brand")
        if brand is None:
            return _not_found(request.path)
        if brand.fields.get("BrandType") != "SOLE_PROPRIETOR":
            return _error(400, 21712, "Only a sole proprietor brand has an OTP")
        with self._lock:
            brand.otps += 1
        body = {"account_sid": self.server.account_sid, "brand_registration_sid": brand.sid}
        return web.json_response(body, status=201)

    def lose_next_answer(self, kind: str) -> None:
        """The next create of ``kind`` is carried out but answered 502, as when the answer
        is lost on the way back: the caller cannot know it happened."""
        with self._lock:
            self._lose.add(kind)

    def _answer(self, kind: str, resource: Resource) -> web.Response:
        with self._lock:
            lost = kind in self._lose
            self._lose.discard(kind)
        if lost:
            return _error(502, 20500, "Bad Gateway")
        return web.json_response(self._json(resource), status=201)

    def _fetch(self, kind: str):
        async def handler(request: web.Request) -> web.Response:
            resource = self._found(request, kind)
            if resource is None:
                return _not_found(request.path)
            return web.json_response(self._json(resource))

        return handler

    def _bundle_create(self, kind: str):
        async def handler(request: web.Request) -> web.Response:
            form = await self._form(request)
            missing = self._missing(kind, form)
            if missing:
                return missing
            resource = self._create(kind, _flat(form))
            return web.json_response(self._json(resource), status=201)

        return handler

    def _bundle_update(self, kind: str):
        async def handler(request: web.Request) -> web.Response:
            resource = self._found(request, kind)
            if resource is None:
                return _not_found(request.path)
            form = _flat(await self._form(request))
            status = form.pop("Status", None)
            resource.fields.update(form)
            if status == "pending-review":
                # Business information, authorized representative, address document.
                if resource.kind == "profile" and len(resource.assignments) < 3:
                    return _error(400, 22214, "The bundle is missing required items")
                self._submit(resource)
            return web.json_response(self._json(resource))

        return handler

    def _assign(self, kind: str):
        async def handler(request: web.Request) -> web.Response:
            resource = self._found(request, kind)
            if resource is None:
                return _not_found(request.path)
            form = await self._form(request)
            object_sid = (form.get("ObjectSid") or [""])[0]
            if not object_sid:
                return _error(400, 20001, "Missing required parameter ObjectSid")
            resource.assignments.append(object_sid)
            body = {"sid": f"BV{random.getrandbits(128):032x}", "object_sid": object_sid}
            return web.json_response(body, status=201)

        return handler

    def _evaluate(self, kind: str):
        async def handler(request: web.Request) -> web.Response:
            resource = self._found(request, kind)
            if resource is None:
                return _not_found(request.path)
            body = {
                "sid": f"EL{random.getrandbits(128):032x}",
                "status": "compliant",
                "results": [],
            }
            return web.json_response(body, status=201)

        return handler

    async def _end_user_create(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        missing = self._missing("end_user", form)
        if missing:
            return missing
        sid = f"IT{random.getrandbits(128):032x}"
        user = _flat(form)
        user["Attributes"] = json.loads(user.get("Attributes") or "{}")
        self.end_users[sid] = user
        return web.json_response({"sid": sid, "type": user["Type"], **_lower(user)}, status=201)

    async def _end_user_update(self, request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        if sid not in self.end_users:
            return _not_found(request.path)
        form = _flat(await self._form(request))
        if "Attributes" in form:
            form["Attributes"] = json.loads(form["Attributes"] or "{}")
        self.end_users[sid].update(form)
        return web.json_response({"sid": sid, **_lower(self.end_users[sid])})

    async def _document_create(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        missing = self._missing("document", form)
        if missing:
            return missing
        sid = f"RD{random.getrandbits(128):032x}"
        document = _flat(form)
        document["Attributes"] = json.loads(document.get("Attributes") or "{}")
        self.documents[sid] = document
        return web.json_response({"sid": sid, **_lower(document)}, status=201)

    async def _document_update(self, request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        if sid not in self.documents:
            return _not_found(request.path)
        form = _flat(await self._form(request))
        if "Attributes" in form:
            form["Attributes"] = json.loads(form["Attributes"] or "{}")
        self.documents[sid].update(form)
        return web.json_response({"sid": sid, **_lower(self.documents[sid])})

    async def _address_create(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        missing = self._missing("address", form)
        if missing:
            return missing
        sid = f"AD{random.getrandbits(128):032x}"
        self.addresses[sid] = _flat(form)
        return web.json_response({"sid": sid, **_lower(self.addresses[sid])}, status=201)

    async def _address_update(self, request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        if sid not in self.addresses:
            return _not_found(request.path)
        self.addresses[sid].update(_flat(await self._form(request)))
        return web.json_response({"sid": sid, **_lower(self.addresses[sid])})

    async def _brand_create(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        missing = self._missing("brand", form)
        if missing:
            return missing
        resource = self._create("brand", _flat(form))
        self._submit(resource)
        return self._answer("brand", resource)

    def _resubmit(self, kind: str):
        async def handler(request: web.Request) -> web.Response:
            resource = self._found(request, kind)
            if resource is None:
                return _not_found(request.path)
            self._submit(resource)
            return web.json_response(self._json(resource))

        return handler

    async def _campaign_create(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        missing = self._missing("campaign", form)
        if missing:
            return missing
        brand = self.resources.get(form["BrandRegistrationSid"][0])
        if brand is None or brand.kind != "brand" or brand.status != "APPROVED":
            return _error(400, 21711, "The brand registration is not approved")
        fields = _flat(form)
        for name in ("MessageSamples", "OptInKeywords", "OptOutKeywords", "HelpKeywords"):
            if name in form:
                fields[name] = form[name]
        fields["MessagingServiceSid"] = request.match_info["service"]
        resource = self._create("campaign", fields)
        self._submit(resource)
        return self._answer("campaign", resource)

    async def _campaign_delete(self, request: web.Request) -> web.Response:
        resource = self._found(request, "campaign")
        if resource is None:
            return _not_found(request.path)
        with self._lock:
            del self.resources[resource.sid]
        return web.Response(status=204)

    async def _tollfree_create(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        missing = self._missing("tollfree", form)
        if missing:
            return missing
        fields = _flat(form)
        fields["OptInImageUrls"] = form["OptInImageUrls"]
        resource = self._create("tollfree", fields)
        self._submit(resource)
        return self._answer("tollfree", resource)

    async def _tollfree_update(self, request: web.Request) -> web.Response:
        resource = self._found(request, "tollfree")
        if resource is None:
            return _not_found(request.path)
        if resource.status != "TWILIO_REJECTED":
            return _error(400, 30480, "Only a rejected verification can be edited")
        resource.fields.update(_flat(await self._form(request)))
        self._submit(resource)
        return web.json_response(self._json(resource))

    def _json(self, resource: Resource) -> dict[str, Any]:
        status, errors = resource.state()
        body: dict[str, Any] = {
            "sid": resource.sid,
            "account_sid": self.server.account_sid,
            "url": f"{self.server.base_url}/v1/{resource.kind}/{resource.sid}",
        }
        body.update(_lower(resource.fields))
        if resource.kind == "campaign":
            body.update(campaign_status=status, errors=_campaign_errors(errors))
        elif resource.kind == "brand":
            reason = errors[0]["description"] if errors else None
            body.update(status=status, errors=errors, failure_reason=reason)
        elif resource.kind == "tollfree":
            first = errors[0] if errors else {}
            body.update(
                status=status,
                error_code=first.get("code"),
                rejection_reason=first.get("description"),
                rejection_reasons=[{"code": e["code"], "reason": e["description"]} for e in errors]
                or None,
            )
        else:
            body.update(status=status, errors=errors or None)
        return body


def _campaign_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"error_code": e["code"], "description": e["description"]} for e in errors]


def _flat(form: dict[str, list[str]]) -> dict[str, Any]:
    return {key: values[-1] for key, values in form.items()}


def _lower(fields: dict[str, Any]) -> dict[str, Any]:
    """Twilio's JSON names: ``BrandRegistrationSid`` → ``brand_registration_sid``."""
    out = {}
    for key, value in fields.items():
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in key).lstrip("_")
        out[snake.replace("a2_p", "a2p")] = value
    return out


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
