"""Times are shown in the organization's time zone, on every staff and portal page.

Stored times are UTC; Django converts an aware datetime to the *current* time zone when a
template renders it. This middleware makes that zone the organization's for the whole request:
the staff member's organization, or the logged-in guardian's on the portal. Anyone else (the
login pages, the operator) sees UTC. A streamed response (CSV exports) renders after the
request has left this middleware, so exports convert with ``organization_zone`` themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from families.models import Guardian
from smsvoice.models import Organization


class OrganizationTimezoneMiddleware:
    """After OrganizationMiddleware, which finds a staff member's organization."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with timezone.override(_request_zone(request)):
            return self.get_response(request)


def organization_zone(organization: Organization) -> ZoneInfo:
    """The organization's zone; a name zoneinfo does not know falls back to UTC, not a 500."""
    try:
        return ZoneInfo(organization.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _request_zone(request: HttpRequest) -> ZoneInfo | None:
    organization = getattr(request, "organization", None)
    if organization is None:
        organization = _guardian_organization(request)
    return organization_zone(organization) if organization is not None else None


def _guardian_organization(request: HttpRequest) -> Organization | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    guardian = Guardian.objects.select_related("organization").filter(user=user).first()
    return guardian.organization if guardian is not None else None


def stream_in_zone(zone: ZoneInfo, rows: Iterator[str]) -> Iterator[str]:
    """``rows`` made with ``zone`` current (its queries' date lookups, ``localtime``), switched
    on only while each row is made, so nothing else the server does in between is affected."""
    while True:
        with timezone.override(zone):
            try:
                row = next(rows)
            except StopIteration:
                return
        yield row
