"""Where a request may send the browser next: the one place every `next` parameter goes through.

A `next` taken from the query string or a form ends up in a redirect or an ``<a href>``, so a
hostile one (``javascript:…``, ``//evil.example``, ``https://evil.example``, ``\\\\evil.example``,
``data:…``) would be an open redirect or a script link. Only an address on this host, with
http(s) or no scheme (and https when the request came over https), is kept; anything else gives
the caller's default.
"""

from __future__ import annotations

from django.http import HttpRequest
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
