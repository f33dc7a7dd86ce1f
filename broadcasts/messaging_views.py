"""Settings > SMS & Voice, admins: finish the Messaging Service, Australia's sender ID."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from broadcasts.messaging_services import (
    alpha_sender_remove,
    alpha_sender_set,
    messaging_service_ensure,
)
from broadcasts.models import MessagingService
from broadcasts.recipients import BroadcastRefused
from broadcasts.selectors import sending_number_active
from smsvoice.tenancy import admin_required

SETTINGS_PAGE = "credits:sms_voice_settings"


@admin_required
@require_POST
def messaging_service(request: HttpRequest) -> HttpResponse:
    """Set up (or finish setting up) the organization's Messaging Service now."""
    org = request.organization
    if sending_number_active(organization=org) is None:
        messages.error(request, "Get a sending number first: the service is set up with it.")
        return redirect(SETTINGS_PAGE)
    service = messaging_service_ensure(organization=org)
    if service.state in (MessagingService.State.READY, MessagingService.State.LOCAL):
        messages.success(request, "The Messaging Service is ready.")
    else:
        messages.error(request, f"The Messaging Service is not ready: {service.last_error}")
    return redirect(SETTINGS_PAGE)


@admin_required
@require_POST
def alpha_sender(request: HttpRequest) -> HttpResponse:
    """Add (or replace) the ACMA-registered sender ID, or remove it."""
    org = request.organization
    try:
        if request.POST.get("action") == "remove":
            alpha_sender_remove(organization=org)
            messages.success(request, "Texts go out from your number again.")
        else:
            service = alpha_sender_set(
                organization=org,
                alpha_sender=request.POST.get("alpha_sender", ""),
                registered=request.POST.get("registered") == "on",
                actor_label=request.staff_member.full_name,
            )
            messages.success(
                request,
                f"Texts now show {service.alpha_sender_id} as the sender; replies and STOP "
                "still reach your number.",
            )
    except BroadcastRefused as refused:
        request.session["alpha_sender_typed"] = request.POST.get("alpha_sender", "")[:40]
        messages.error(request, str(refused))
    return redirect(SETTINGS_PAGE)
