"""Where a request may send the browser next: the one place every `next` parameter goes through.

A `next` taken from the query string or a form ends up in a redirect or an ``<a href>``, so a
hostile one (``javascript:…``, ``//evil.example``, ``https://evil.example``, ``\\\\evil.example``,
``data:…``) would be an open redirect or a script link. Only an address on this host, with
http(s) or no scheme (and https when the request came over https), is kept; anything else gives
the caller's default.

It also holds ``RefuseNulMiddleware``: the other rule every request goes through before a view.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    QueryDict,
)
from django.utils.http import url_has_allowed_host_and_scheme

NEXT_PARAMETER = "next"


def is_safe_url(request: HttpRequest, url: str) -> bool:
    return bool(url) and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def safe_next(request: HttpRequest, default: str) -> str:
    """The request's `next` (form field first, then query string) if it is safe, else default."""
    candidate = (
        request.POST.get(NEXT_PARAMETER) or request.GET.get(NEXT_PARAMETER) or ""
    ).strip()
    return candidate if is_safe_url(request, candidate) else default


class SafeNextMixin:
    """For Django's login and logout views, so their `next` goes through safe_next as well."""

    request: HttpRequest

    def get_redirect_url(self) -> str:
        return safe_next(self.request, "")


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Parts of a request that views read without a form (and so without the NUL check Django's
# forms.CharField does) and that can end up in a query or a row.
_HEADERS = ("HTTP_USER_AGENT", "HTTP_REFERER")


class RefuseNulMiddleware:
    """A NUL character anywhere in a request's path, query string, form fields, cookies or the
    headers we keep is a 400, before any view runs.

    PostgreSQL cannot store or compare NUL in text, so one that reaches the ORM is a 500. Forms
    refuse it, but many views read ``request.POST`` directly (the compose window's text, the
    outbox's reply, `next`, webhook fields); refusing it here covers every one of them, and
    nothing legitimate ever sends one. JSON bodies get the same rule in smsvoice.parsers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _holds_nul(request):
            message = "The request holds a NUL character (\\x00), which no text here may contain."
            if is_api(request):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def is_api(request: HttpRequest) -> bool:
    """A request to the JSON API, which answers errors in JSON like its schema says."""
    return request.path.startswith("/api/")


def _holds_nul(request: HttpRequest) -> bool:
    parts: list[str] = [request.path, *request.COOKIES.keys(), *request.COOKIES.values()]
    parts += [request.META.get(name, "") for name in _HEADERS]
    parts += _query_parts(request.GET)
    # The API takes JSON only (its parser checks for NUL); reading a multipart body here would
    # leave DRF nothing to refuse with a 415.
    if request.method == "POST" and request.content_type in FORM_TYPES and not is_api(request):
        parts += _query_parts(request.POST)
    return any("\x00" in part for part in parts)


def _query_parts(query: QueryDict) -> list[str]:
    return [*query.keys(), *(value for _, values in query.lists() for value in values)]
