"""How a request finds its organization, and the guards every staff view and API uses.

The organization always comes from the logged-in user's staff membership, never from a
client-sent id; every query is then scoped with ``Model.objects.for_org(request.organization)``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission

from smsvoice.models import Organization, StaffMember


class OrganizationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.staff_member = _active_staff_member(request)
        request.organization = request.staff_member.organization if request.staff_member else None
        return self.get_response(request)


def _active_staff_member(request: HttpRequest) -> StaffMember | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    member = (
        StaffMember.objects.select_related("organization").filter(user=user, is_active=True).first()
    )
    return member


def staff_required(view: Callable) -> Callable:
    """Staff side only: anonymous → login page, a logged-in non-staff user (a guardian) → 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.staff_member is None:
            raise PermissionDenied("This page is for staff of an organization.")
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view: Callable) -> Callable:
    """Staff with the admin role only; other staff get 403."""

    @wraps(view)
    @staff_required
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.staff_member.is_admin:
            raise PermissionDenied("Only an admin of this organization can do this.")
        return view(request, *args, **kwargs)

    return wrapper


class IsStaffOfOrganization(BasePermission):
    message = "Log in as staff of an organization."

    def has_permission(self, request, view) -> bool:
        return getattr(request._request, "staff_member", None) is not None


class IsAdminOfOrganization(IsStaffOfOrganization):
    message = "Only an admin of this organization can do this."

    def has_permission(self, request, view) -> bool:
        member = getattr(request._request, "staff_member", None)
        return member is not None and member.is_admin


def organization_context(request: HttpRequest) -> dict[str, Organization | StaffMember | None]:
    return {
        "organization": getattr(request, "organization", None),
        "staff_member": getattr(request, "staff_member", None),
    }
