"""The two permissions of a staff member about texts, for pages and the API.

"Send texts": compose (SMS and voice), create and cancel broadcasts, reply in conversations.
"View text logs": the messenger, the audit log, the outbox. Admins have both. A broadcast's
own pages (the list, its progress) need either: whoever sent one watches it go out.

The server refuses (403) whatever the client sends; the navigation only hides the links.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import SAFE_METHODS

from smsvoice.models import StaffMember
from smsvoice.tenancy import IsStaffOfOrganization, staff_required

NO_SEND = "You do not have the permission to send texts; an admin can give it."
NO_LOGS = "You do not have the permission to view text logs; an admin can give it."


def may_send_texts(member: StaffMember | None) -> bool:
    return member is not None and member.may_send_texts


def may_view_text_logs(member: StaffMember | None) -> bool:
    return member is not None and member.may_view_text_logs


def _requires(allowed: Callable[[StaffMember], bool], message: str) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @staff_required
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not allowed(request.staff_member):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


send_texts_required = _requires(may_send_texts, NO_SEND)
text_logs_required = _requires(may_view_text_logs, NO_LOGS)
sends_or_views_texts_required = _requires(
    lambda m: may_send_texts(m) or may_view_text_logs(m), NO_LOGS
)


def _member(request) -> StaffMember | None:
    return getattr(request._request, "staff_member", None)


class CanSendTexts(IsStaffOfOrganization):
    message = NO_SEND

    def has_permission(self, request, view) -> bool:
        return may_send_texts(_member(request))


class CanViewTextLogs(IsStaffOfOrganization):
    message = NO_LOGS

    def has_permission(self, request, view) -> bool:
        return may_view_text_logs(_member(request))


class ReadsOrSendsTexts(IsStaffOfOrganization):
    """Reading needs either permission; writing (sending) needs send texts."""

    message = NO_SEND

    def has_permission(self, request, view) -> bool:
        member = _member(request)
        if request.method in SAFE_METHODS:
            return may_send_texts(member) or may_view_text_logs(member)
        return may_send_texts(member)


def staff_permissions_set(
    *, staff_member: StaffMember, can_send_texts: bool, can_view_text_logs: bool
) -> StaffMember:
    """An admin's choice on the staff form (the form and its view are admins' only)."""
    staff_member.can_send_texts = can_send_texts
    staff_member.can_view_text_logs = can_view_text_logs
    staff_member.save(update_fields=["can_send_texts", "can_view_text_logs"])
    return staff_member
