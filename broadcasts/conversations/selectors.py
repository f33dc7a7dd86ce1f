"""Read paths of conversations: the messenger's list (filters, search), the unread count, who
a number belongs to, one thread as a timeline, and why a reply would be refused.

Every function takes the organization (or a conversation already found through it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse

from broadcasts.conversations.models import Conversation, ConversationInbound
from broadcasts.models import AuditLogEntry, Recipient
from families.models import OptOut, PhoneNumber
from families.phones import phone_display
from smsvoice.models import Organization, StaffMember

Status = Conversation.Status
THREAD_LIMIT = 200  # newest entries of each kind shown in a thread
KINDS = ("family", "staff", "unknown")


# --- who a number belongs to ---


@dataclass(frozen=True)
class Owner:
    kind: str  # "family" or "staff"
    pk: int
    name: str
    label: str  # which of their numbers ("Mother cell")

    @property
    def url(self) -> str:
        name = "families:family_detail" if self.kind == "family" else "families:staff_detail"
        return reverse(name, args=[self.pk])


def owners_by_number(*, organization: Organization, e164s: list[str]) -> dict[str, list[Owner]]:
    """Every family and staff member with each number (several when it is shared)."""
    found: dict[str, list[Owner]] = {e164: [] for e164 in e164s}
    numbers = (
        PhoneNumber.objects.for_org(organization)
        .filter(e164__in=e164s)
        .select_related("family", "staff_member", "field")
        .order_by("family__name", "staff_member__last_name", "id")
    )
    for number in numbers:
        if number.family_id:
            owner = Owner("family", number.family_id, number.family.name, number.field.label)
        else:
            member = number.staff_member
            owner = Owner("staff", member.pk, member.full_name, number.label or "Phone")
        if owner not in found[number.e164]:
            found[number.e164].append(owner)
    return found


def _numbers_of(organization: Organization, **owner) -> QuerySet:
    return PhoneNumber.objects.for_org(organization).filter(e164=OuterRef("e164"), **owner)


# --- the list ---


@dataclass
class Filters:
    status: str = ""
    mine: bool = False
    kind: str = ""  # family, staff, unknown
    unread: bool = False
    q: str = ""

    @classmethod
    def from_query(cls, query) -> Filters:
        status = query.get("status", "")
        kind = query.get("kind", "")
        return cls(
            status=status if status in Status.values else "",
            mine=query.get("mine") in ("1", "true", "on"),
            kind=kind if kind in KINDS else "",
            unread=query.get("unread") in ("1", "true", "on"),
            q=query.get("q", "").strip()[:100],
        )


def conversations_matching(
    *, organization: Organization, staff_member: StaffMember | None, filters: Filters
) -> QuerySet[Conversation]:
    """The organization's conversations, last activity first, narrowed by the filters."""
    found = Conversation.objects.for_org(organization).select_related("assignee")
    if filters.status:
        found = found.filter(status=filters.status)
    if filters.unread:
        found = found.filter(unread_count__gt=0)
    if filters.mine:
        found = found.filter(assignee=staff_member)
    if filters.kind == "family":
        found = found.filter(Exists(_numbers_of(organization, family__isnull=False)))
    elif filters.kind == "staff":
        found = found.filter(Exists(_numbers_of(organization, staff_member__isnull=False)))
    elif filters.kind == "unknown":
        found = found.exclude(Exists(_numbers_of(organization)))
    if filters.q:
        found = found.filter(_search(organization, filters.q))
    return found.order_by("-last_activity_at", "-id")


def _search(organization: Organization, q: str) -> Q:
    """A name (family, guardian, staff member) or part of the number, typed any way."""
    digits = "".join(ch for ch in q if ch.isdigit())
    named = _numbers_of(organization).filter(
        Q(family__name__icontains=q)
        | Q(family__guardians__first_name__icontains=q)
        | Q(family__guardians__last_name__icontains=q)
        | Q(staff_member__first_name__icontains=q)
        | Q(staff_member__last_name__icontains=q)
    )
    condition = Exists(named)
    if len(digits) >= 3:
        condition |= Q(e164__contains=digits)
    return condition


def unread_count(*, organization: Organization) -> int:
    return Conversation.objects.for_org(organization).filter(status=Status.UNREAD).count()


def conversation_for_number(*, organization: Organization, e164: str) -> Conversation | None:
    return Conversation.objects.for_org(organization).filter(e164=e164).first()


# --- one thread ---


@dataclass
class Entry:
    """One line of the timeline: a text from the phone, or one the organization sent."""

    at: datetime
    direction: str  # "in" or "out"
    text: str
    who: str = ""  # who sent it (out), or which keyword (in)
    keyword: str = ""
    answer: str = ""  # what the app answered a keyword
    status: str = ""  # out: sent, delivered, failed… (Recipient status)
    status_label: str = ""
    broadcast_id: int | None = None
    is_reply: bool = False
    channel: str = "sms"
    inbound_id: int | None = None
    review: object | None = None  # a revocation review waiting for staff (B2's)


@dataclass
class Thread:
    conversation: Conversation
    owners: list[Owner]
    entries: list[Entry] = field(default_factory=list)

    @property
    def number(self) -> str:
        return phone_display(self.conversation.e164)


def thread(*, conversation: Conversation) -> Thread:
    """The broadcasts and replies the number received and the texts it sent, oldest first."""
    organization = conversation.organization
    owners = owners_by_number(organization=organization, e164s=[conversation.e164])
    entries = _inbound_entries(conversation) + _sent_entries(organization, conversation.e164)
    entries.sort(key=lambda entry: entry.at)
    return Thread(conversation=conversation, owners=owners[conversation.e164], entries=entries)


def _inbound_entries(conversation: Conversation) -> list[Entry]:
    links = (
        ConversationInbound.objects.filter(conversation=conversation)
        .select_related("inbound")
        .order_by("-id")[:THREAD_LIMIT]
    )
    reviews = _open_reviews([link.inbound_id for link in links])
    return [
        Entry(
            at=link.inbound.received_at,
            direction="in",
            text=link.inbound.body,
            keyword=link.inbound.keyword.upper(),
            answer=link.answer,
            inbound_id=link.inbound_id,
            review=reviews.get(link.inbound_id),
        )
        for link in links
    ]


def _sent_entries(organization: Organization, e164: str) -> list[Entry]:
    """What the number received (the audit log), and replies not sent yet or not at all."""
    audited = (
        AuditLogEntry.objects.filter(organization=organization, e164=e164)
        .select_related("broadcast", "recipient")
        .order_by("-sent_at", "-id")[:THREAD_LIMIT]
    )
    entries = [
        Entry(
            at=entry.sent_at,
            direction="out",
            text=entry.text,
            who=entry.sender_label,
            status=entry.recipient.status,
            status_label=entry.recipient.get_status_display(),
            broadcast_id=entry.broadcast_id,
            is_reply=entry.broadcast.selection_kind == "reply",
            channel=entry.channel,
        )
        for entry in audited
    ]
    unsent = (
        Recipient.objects.for_org(organization)
        .filter(e164=e164, broadcast__selection_kind="reply")
        .exclude(status=Recipient.Status.EXCLUDED)
        .filter(audit__isnull=True)
        .select_related("broadcast")
        .order_by("-id")[:THREAD_LIMIT]
    )
    entries += [
        Entry(
            at=recipient.broadcast.created_at,
            direction="out",
            text=recipient.text,
            who=recipient.broadcast.sender_label,
            status=recipient.status,
            status_label=_unsent_label(recipient),
            broadcast_id=recipient.broadcast_id,
            is_reply=True,
        )
        for recipient in unsent
    ]
    return entries


def _unsent_label(recipient: Recipient) -> str:
    if recipient.status in Recipient.REFUNDABLE:
        why = f": {recipient.error_message}" if recipient.error_message else ""
        return f"Not sent, refunded{why}"
    return "Sending…"


def _open_reviews(inbound_ids: list[int]) -> dict[int, object]:
    """The revocation reviews (message rules) of these texts: waiting or decided."""
    try:
        from families.models import RevocationReview
    except ImportError:  # before the message rules (issue 12): no reviews
        return {}
    reviews = RevocationReview.objects.filter(inbound_id__in=inbound_ids)
    return {review.inbound_id: review for review in reviews}


# --- replying ---


def stop_on_file(*, organization: Organization, e164: str) -> OptOut | None:
    return OptOut.objects.for_org(organization).filter(e164=e164).first()


def reply_refusal(*, conversation: Conversation, staff_member: StaffMember | None) -> str:
    """Why a reply to this conversation cannot go now (the box says it), or ""."""
    organization = conversation.organization
    if staff_member is None or not staff_member.may_send_texts:
        return "You do not have the permission to send texts; an admin can give it."
    stop = stop_on_file(organization=organization, e164=conversation.e164)
    if stop is not None:
        return (
            f"This number replied STOP on {stop.created_at:%b %-d, %Y}: it cannot be texted "
            "until it replies START."
        )
    numbers = PhoneNumber.objects.for_org(organization).filter(e164=conversation.e164)
    if not numbers.exists():
        return (
            "This number is not on file: add it to a family or staff member with texts "
            "turned on (consent recorded) to reply."
        )
    if not numbers.filter(sms_opt_in=True, text_capable=True).exists():
        return "This number has not opted in to texts: turn texts on with consent to reply."
    return _readiness_refusal(organization)


def _readiness_refusal(organization: Organization) -> str:
    """The sending-readiness gate (number, Messaging Service, registration, credits)."""
    try:
        from broadcasts.readiness import sms_refusal
    except ImportError:  # before the readiness gate: the engine's own refusals only
        return ""
    return sms_refusal(organization=organization) or ""


def reply_preview(
    *,
    conversation: Conversation,
    staff_member: StaffMember | None,
    text: str,
    omit_header_footer: bool = False,
):
    """The compose window's counting for a reply of one: characters and parts of the text as
    sent (with the organization's header and footer unless left out where the law allows),
    credits, and what would refuse it."""
    from broadcasts.sms import segments
    from broadcasts.sms.compose import Preview
    from credits.selectors import credits_balance

    organization = conversation.organization
    typed = text.strip()
    sent = text_as_sent(organization, typed, omit=omit_header_footer)
    parts = segments.count_parts(sent)
    preview = Preview(
        messages=1,
        encoding=parts.encoding,
        parts=parts.parts,
        per_part=parts.per_part,
        characters_left=parts.remaining,
        ucs2_characters=segments.ucs2_characters(sent),
        credits_needed=parts.parts,
        credits_available=credits_balance(organization=organization),
    )
    _header_footer(organization, preview, omit_header_footer)
    refusal = reply_refusal(conversation=conversation, staff_member=staff_member)
    if refusal:
        preview.problems.append(refusal)
    if not typed:
        preview.problems.append("Type a reply first.")
    elif parts.too_long:
        preview.problems.append(f"This reply needs {parts.parts} parts; shorten it.")
    return preview


def text_as_sent(organization: Organization, typed: str, *, omit: bool = False) -> str:
    """The text as it goes out: the organization's header and footer (message options) on
    their own lines, as on every text it sends, unless left out where the law allows."""
    from broadcasts.sms import ctia

    return ctia.wrap(typed, ctia.message_options_for(organization), omit=omit) if typed else ""


def _header_footer(organization: Organization, preview, omit: bool) -> None:
    """What the preview says about the header and footer (the compose window's template)."""
    from broadcasts.sms import ctia

    options = ctia.message_options_for(organization)
    name = organization.name
    preview.header = options.header.strip().replace("{organization}", name)
    preview.footer = options.footer.strip().replace("{organization}", name)
    preview.header_footer_required = ctia.why_footer_stays(organization)
    preview.header_footer_omitted = omit and ctia.may_omit(organization)
    if omit and preview.header_footer_required:
        preview.problems.append(header_footer_refusal(organization))


def header_footer_refusal(organization: Organization) -> str:
    from broadcasts.sms import ctia

    return "The header and footer cannot be left out: " + ctia.why_footer_stays(organization)
