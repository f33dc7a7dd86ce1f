"""API keys: how another system (a class-management system's nightly sync) calls the API.

A key is ``smsv_<prefix>_<secret>``, sent as ``Authorization: Bearer <key>``. It is shown once
when an admin makes it; the database keeps the prefix (to find the row) and the SHA-256 of the
whole key, compared in constant time. The browser keeps its session: a request without a
Bearer header is authenticated by the session as before.

A key request acts for the key's organization (never an id the client sends) and in the name
of the admin who made the key, who must still be active staff. Each request needs the key's
scope: ``read`` for GET, HEAD and OPTIONS; for anything else the scope the view declares
(``api_key_scopes = {"POST": "send"}``, or ``key_scopes(...)`` on a function view); a view
that declares none is not open to keys (403). The scope is checked here, in authentication,
so that a view with permission classes of its own cannot forget it.

Each key is rate-limited (API_KEY_RATE_PER_MINUTE, a fixed one-minute window counted in Redis,
in-process without a broker): over it, 429 with Retry-After. ``last_used_at`` is written at
most once every API_KEY_LAST_USED_SECONDS, not on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.throttling import BaseThrottle

from smsvoice.models import APIKey, Organization, StaffMember

log = logging.getLogger(__name__)
Scope = APIKey.Scope
KEY_START = "smsv_"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# --- Making and revoking keys ---


def scopes_clean(scopes: Iterable[str]) -> str:
    chosen = {s for s in scopes}
    unknown = chosen - set(Scope.values)
    if unknown:
        raise ValidationError({"scopes": [f"Unknown scope: {', '.join(sorted(unknown))}."]})
    if not chosen:
        raise ValidationError({"scopes": ["Choose at least one scope."]})
    return " ".join(s for s in Scope.values if s in chosen)


def api_key_create(
    *,
    organization: Organization,
    name: str,
    scopes: Iterable[str],
    created_by: StaffMember,
) -> tuple[APIKey, str]:
    """A new key and its full text, which exists only in this return value: show it once."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["Give the key a name (e.g. Nightly sync from iClassPro)."]})
    if created_by.organization_id != organization.pk or not created_by.is_admin:
        raise ValidationError("Only an admin of this organization can make API keys.")
    prefix = secrets.token_hex(6)
    full = f"{KEY_START}{prefix}_{secrets.token_urlsafe(32)}"
    key = APIKey.objects.create(
        organization=organization,
        name=name[: APIKey._meta.get_field("name").max_length],
        prefix=prefix,
        secret_hash=_hash(full),
        scopes=scopes_clean(scopes),
        created_by=created_by,
    )
    return key, full


@transaction.atomic
def api_key_revoke(*, key: APIKey, revoked_by: StaffMember | None) -> APIKey:
    """Refused from the next request on (every request reads the key's row). Revoking twice
    keeps the first revocation. ``revoked_by`` None: the operator, in the Django admin."""
    locked = APIKey.objects.select_for_update().get(pk=key.pk)
    if locked.revoked_at is None:
        locked.revoked_at, locked.revoked_by = timezone.now(), revoked_by
        locked.save(update_fields=["revoked_at", "revoked_by"])
    return locked


def api_keys_of(*, organization: Organization):
    return APIKey.objects.for_org(organization).select_related("created_by", "revoked_by")


# --- Scopes of views ---


def key_scopes(**by_method: str) -> Callable:
    """Open a function view (``@api_view``) to API keys for unsafe methods: put it above
    ``@api_view``, e.g. ``@key_scopes(POST="send")``."""

    def decorate(view: Callable) -> Callable:
        view.cls.api_key_scopes = by_method
        return view

    return decorate


# Routes of other apps open to keys for unsafe methods, by route name (a view of this issue
# declares ``api_key_scopes`` itself). Every unsafe request a key can make is declared.
ROUTE_SCOPES: dict[str, dict[str, str]] = {
    "api-broadcasts": {"POST": Scope.SEND},
    "api-broadcast-preview": {"POST": Scope.SEND},
    "families_api:selection_count": {"POST": Scope.READ},
}


def scope_needed(view: object, method: str, route: str = "") -> str | None:
    declared = getattr(view, "api_key_scopes", None) or ROUTE_SCOPES.get(route, {})
    if method in declared:
        return declared[method]
    return Scope.READ if method in SAFE_METHODS else None


# --- Authentication ---


class APIKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer smsv_…``: the key's organization and its maker for the request."""

    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None  # not ours: the session (or nothing) authenticates the request
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the API key as: Authorization: Bearer smsv_…"
            )
        key = self._key(parts[1].decode("latin-1"))
        member = key.created_by
        if member is None or not member.is_active or member.user_id is None:
            raise exceptions.AuthenticationFailed(
                "The admin who made this API key is no longer active staff of the "
                "organization; an admin can make a new key."
            )
        self._check_scope(request, key)
        self._touch(key)
        # Views read the organization and staff member from the Django request, as the
        # middleware sets them for a session; a key request gets its key's instead.
        django_request = request._request
        django_request.organization = key.organization
        django_request.staff_member = member
        return member.user, key

    def authenticate_header(self, request) -> str | None:
        # 401 with a challenge only for requests that tried a key; a request with neither a key
        # nor a session stays the 403 it always was.
        parts = get_authorization_header(request).split()
        if parts and parts[0].lower() == self.keyword:
            return 'Bearer realm="api"'
        return None

    def _key(self, text: str) -> APIKey:
        prefix = text[len(KEY_START) :].split("_", 1)[0] if text.startswith(KEY_START) else ""
        key = (
            APIKey.objects.select_related("organization", "created_by__user")
            .filter(prefix=prefix)
            .first()
            if prefix
            else None
        )
        stored = key.secret_hash if key is not None else _DUMMY_HASH
        if not hmac.compare_digest(stored, _hash(text)) or key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API key was revoked.")
        return key

    def _check_scope(self, request, key: APIKey) -> None:
        view = (getattr(request, "parser_context", None) or {}).get("view")
        match = getattr(request._request, "resolver_match", None)
        needed = scope_needed(view, request.method, match.view_name if match else "")
        if needed is None:
            raise exceptions.PermissionDenied(
                "This endpoint is not open to API keys; use it from the browser."
            )
        if needed not in key.scope_list:
            raise exceptions.PermissionDenied(
                f"This API key does not have the {needed} scope this request needs."
            )

    def _touch(self, key: APIKey) -> None:
        now = timezone.now()
        every = settings.API_KEY_LAST_USED_SECONDS
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() >= every:
            APIKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now


class APIKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = APIKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "smsv_<prefix>_<secret>",
            "description": "An API key made by an admin in Settings > API keys, with the "
            "scopes read (GET), write (directory changes) and/or send (broadcasts).",
        }


# --- Rate limit per key ---


class APIKeyRateThrottle(BaseThrottle):
    """API_KEY_RATE_PER_MINUTE requests per key per clock minute; browser sessions are not
    limited here. Over the limit: 429 with Retry-After (seconds to the next minute)."""

    def allow_request(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, APIKey):
            return True
        limit = settings.API_KEY_RATE_PER_MINUTE
        now = time.time()
        window = int(now // 60)
        try:
            count = _count(f"apikey-rate:{key.pk}:{window}")
        except Exception:  # Redis away: serve the request rather than fail the whole API
            log.warning("API key rate limit not counted (Redis unavailable)", exc_info=True)
            return True
        if count <= limit:
            return True
        wait = max(1, int((window + 1) * 60 - now + 0.999))
        raise exceptions.Throttled(
            wait,
            detail=f"This API key made more than {limit} requests this minute; "
            f"try again in {wait} seconds.",
        )


_clients: dict[str, object] = {}


def _count(name: str) -> int:
    """Add one to a counter that lives two minutes; return its value."""
    url = settings.CELERY_BROKER_URL
    if url.startswith("redis"):
        client = _clients.get(url)
        if client is None:
            import redis

            client = _clients[url] = redis.Redis.from_url(
                url, socket_timeout=2, socket_connect_timeout=2
            )
        pipe = client.pipeline()
        pipe.incr(name)
        pipe.expire(name, 120)
        return int(pipe.execute()[0])
    cache.add(name, 0, 120)
    return cache.incr(name)
