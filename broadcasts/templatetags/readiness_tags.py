"""The sending-readiness checklist and Australia's sender ID form (Settings > SMS & Voice)."""

from __future__ import annotations

from django import template

from broadcasts.messaging_services import messaging_service_of
from broadcasts.readiness import readiness_checks
from smsvoice.models import Organization

register = template.Library()


@register.inclusion_tag("broadcasts/_readiness.html", takes_context=True)
def readiness_checklist(context) -> dict:
    request = context["request"]
    org = request.organization
    checks = readiness_checks(organization=org)
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "checks": checks,
        "ready": not any(c.blocks_sending for c in checks),
        "australia": org.country == Organization.Country.AU,
        "service": messaging_service_of(organization=org),
        "alpha_typed": request.session.pop("alpha_sender_typed", ""),
    }
