"""The navigation's Messenger link with its live unread count (and the top bar's Messenger
icon that shows the same count on a phone), and the Communication section of the family and
staff pages (issue 13)."""

from __future__ import annotations

from django import template
from django.conf import settings

from broadcasts.conversations import selectors
from broadcasts.conversations.models import Conversation
from broadcasts.models import AuditLogEntry
from families.models import PhoneNumber

register = template.Library()
HISTORY = 20  # broadcasts shown on a Communication section


def badge_context(request) -> dict:
    """Counted once a request: the link and the icon of one page show the same number."""
    if not hasattr(request, "conversations_unread"):
        organization = getattr(request, "organization", None)
        count = selectors.unread_count(organization=organization) if organization else 0
        request.conversations_unread = count
    poll = getattr(settings, "CONVERSATIONS_POLL_SECONDS", 20)
    return {"unread": request.conversations_unread, "poll_seconds": poll}


@register.inclusion_tag("conversations/_messenger_link.html", takes_context=True)
def messenger_link(context) -> dict:
    return badge_context(context["request"])


@register.inclusion_tag("conversations/_messenger_icon.html", takes_context=True)
def messenger_icon(context) -> dict:
    return badge_context(context["request"])


@register.inclusion_tag("conversations/_communication.html", takes_context=True)
def communication(context, family=None, member=None) -> dict:
    """The owner's numbers' conversations and the broadcasts they received."""
    request = context["request"]
    member_viewing = getattr(request, "staff_member", None)
    if member_viewing is None or not member_viewing.may_view_text_logs:
        return {"allowed": False}
    organization = request.organization
    owned = {"family": family} if family is not None else {"staff_member": member}
    e164s = list(
        PhoneNumber.objects.for_org(organization).filter(**owned).values_list("e164", flat=True)
    )
    conversations = Conversation.objects.for_org(organization).filter(e164__in=e164s)
    audit = AuditLogEntry.objects.filter(organization=organization)
    audit = audit.filter(**owned)
    return {
        "allowed": True,
        "conversations": conversations.order_by("-last_activity_at")[:HISTORY],
        "history": audit.select_related("broadcast").order_by("-sent_at", "-id")[:HISTORY],
    }


@register.filter
def phone(e164: str) -> str:
    from families.phones import phone_display

    return phone_display(e164)
