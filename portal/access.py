"""Who may use the parent portal, and from which address a request came.

A portal request's guardian, family and organization come from the logged-in user's Guardian
row, never from the URL: every portal query is then scoped to ``request.family`` or
``request.organization``, so another family's id in a URL finds nothing (404).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from families.models import Guardian


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, as far as we can trust it (see TRUSTED_PROXY_COUNT in settings).

    Behind N proxies of ours, the N-th address from the right of X-Forwarded-For is the one our
    outermost proxy saw; anything to its left was sent by the client and could be made up.
    Something that is not an IP address gives None rather than a wrong record.
    """
    address = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if forwarded:
            address = forwarded[-count] if len(forwarded) >= count else forwarded[0]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def login_username(request: HttpRequest, credentials: dict | None = None) -> str:
    """The username django-axes counts failures against (AXES_USERNAME_CALLABLE). Logins are
    email addresses, so case and spaces don't make a new username to guess under."""
    if credentials and credentials.get("username"):
        raw = credentials["username"]
    else:
        raw = request.POST.get("username", "")
    return str(raw).strip().lower()


def guardian_of(request: HttpRequest) -> Guardian | None:
    """The logged-in user's guardian row, if they are a parent and not staff."""
    user = request.user
    if not user.is_authenticated or getattr(request, "staff_member", None) is not None:
        return None
    return (
        Guardian.objects.select_related("family__organization", "organization")
        .filter(user=user)
        .first()
    )


def guardian_required(view: Callable) -> Callable:
    """Portal pages only: anonymous → the portal login, anyone but a guardian → a 403 page.

    Sets ``request.guardian``, ``request.family`` and ``request.organization`` from the user.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("portal:login"))
        guardian = guardian_of(request)
        if guardian is None or guardian.family.organization_id != guardian.organization_id:
            return render(request, "portal/not_a_parent.html", status=403)
        request.guardian = guardian
        request.family = guardian.family
        request.organization = guardian.organization
        return view(request, *args, **kwargs)

    return wrapper
