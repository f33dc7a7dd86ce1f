"""The hourly email of new conversations to staff who opted in.

It says who wrote (the family or staff name, or the number) and the first line of their first
text, never more: an email is not where a family's messages should be read or kept. Each
conversation is in one digest (``digested_at``); one that was not sent within two hours (the
job was down) is marked and skipped, since the point of the digest is "new".
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from broadcasts.conversations.models import Conversation, ConversationInbound
from broadcasts.conversations.selectors import owners_by_number
from broadcasts.conversations.services import first_line
from families.phones import phone_display
from smsvoice.locks import try_lock
from smsvoice.models import Organization, StaffMember

LATEST = timedelta(hours=2)
LINE = 80  # characters of the first line in the email


def conversations_digest() -> dict[str, int]:
    """Under a non-blocking lock: two beat ticks never email twice."""
    with try_lock("conversations-digest", timeout=600) as mine:
        if not mine:
            return {"skipped": 1}
        return _digest(timezone.now())


def _digest(now) -> dict[str, int]:
    waiting = Conversation.objects.filter(digested_at__isnull=True)
    stale = waiting.filter(created_at__lt=now - LATEST).update(digested_at=now)
    by_org: dict[int, list[Conversation]] = defaultdict(list)
    for conversation in waiting.filter(created_at__gte=now - LATEST).select_related("organization"):
        by_org[conversation.organization_id].append(conversation)
    emails = 0
    for conversations in by_org.values():
        emails += _send(conversations[0].organization, conversations)
        Conversation.objects.filter(pk__in=[c.pk for c in conversations]).update(digested_at=now)
    return {"organizations": len(by_org), "emails": emails, "stale": stale}


def digest_lines(organization: Organization, conversations: list[Conversation]) -> list[str]:
    owners = owners_by_number(organization=organization, e164s=[c.e164 for c in conversations])
    firsts = {
        link.conversation_id: link.inbound.body
        for link in ConversationInbound.objects.filter(conversation__in=conversations)
        .select_related("inbound")
        .order_by("-id")
    }
    lines = []
    for conversation in conversations:
        names = [owner.name for owner in owners[conversation.e164]]
        sender = " / ".join(names) or phone_display(conversation.e164)
        lines.append(f"- {sender}: {first_line(firsts.get(conversation.pk, ''), LINE)}")
    return lines


def _recipients(organization: Organization) -> list[str]:
    members = StaffMember.objects.for_org(organization).filter(
        is_active=True, conversation_digest=True, user__is_active=True
    )
    members = members.filter(Q(role=StaffMember.Role.ADMIN) | Q(can_view_text_logs=True))
    return sorted({m.user.email or m.email for m in members.select_related("user")} - {""})


def _send(organization: Organization, conversations: list[Conversation]) -> int:
    recipients = _recipients(organization)
    if not recipients:
        return 0
    count = len(conversations)
    noun = "conversation" if count == 1 else "conversations"
    body = "\n".join(
        [
            f"{count} new {noun} at {organization.name} in the last hour:",
            "",
            *digest_lines(organization, conversations),
            "",
            f"Read and answer them in the messenger: {settings.SITE_URL}"
            f"{reverse('conversations:list')}",
            "You get this email because you turned it on in the messenger.",
        ]
    )
    subject = f"smsvoice: {count} new {noun} at {organization.name}"
    for address in recipients:  # one each: staff do not see each other's addresses
        send_mail(subject, body, None, [address])
    return len(recipients)
