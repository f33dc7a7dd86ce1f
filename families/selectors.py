"""Read paths for the family page, the staff page and the settings pages.

Each page's data comes from a fixed number of queries whatever the number of phone fields,
numbers or consent events, and every query is scoped to the organization of the row it starts
from.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from families.models import (
    ConsentEvent,
    Family,
    FamilyPolicy,
    Guardian,
    OptOut,
    PhoneField,
    PhoneNumber,
    Student,
)
from families.phones import phone_display
from families.services import actor_label_for
from smsvoice.models import Organization, StaffMember

Source = ConsentEvent.Source

# How the "Texts: on — …" badge says where the consent came from.
CONSENT_PHRASES = {
    Source.PORTAL: "opted in on the parent portal",
    Source.STAFF_WITH_CONSENT: "consent by staff",
    Source.STAFF: "by staff",
    Source.KEYWORD: "by text reply (START)",
    Source.IMPORT: "imported with consent",
}


@dataclass
class NumberView:
    """One phone number with its consent history, as the family and staff pages show it.
    The view attaches the forms it renders (``texts_on_form``, ``edit_form``)."""

    number: PhoneNumber
    events: list[ConsentEvent]
    # The number replied STOP to the organization's sending number (OptOut).
    unsubscribed: bool
    texts_on_form: Any = None
    # The app's answers to this number's replies (HELP, STOP, confirmations), newest first.
    auto_replies: list = field(default_factory=list)
    # The number pressed 9 or asked in words not to be called (VoiceOptOut).
    calls_stopped: bool = False
    edit_form: Any = None

    @property
    def display(self) -> str:
        return phone_display(self.number.e164)

    @property
    def opt_in_event(self) -> ConsentEvent | None:
        """The event that turned texting on, when it is on."""
        if not self.number.sms_opt_in:
            return None
        own = (e for e in self.events if e.phone_number_id == self.number.pk and e.opted_in)
        return next(own, None)

    @property
    def consent_phrase(self) -> str:
        event = self.opt_in_event
        return CONSENT_PHRASES.get(event.source, event.get_source_display()) if event else ""

    @property
    def unsubscribed_phrase(self) -> str:
        """How the number came onto the STOP list, from its latest revocation event."""
        phrases = {
            Source.REPLY: "Unsubscribed: asked in words to stop texts",
            Source.REVIEW: "Unsubscribed: a reply staff read as a revocation",
            Source.CARRIER: "Unsubscribed: its carrier reports it opted out",
        }
        for event in self.events:
            if event.channel == "sms" and not event.opted_in and event.source in phrases:
                return phrases[event.source]
            if event.channel == "sms" and event.source == Source.KEYWORD:
                break
        return "Unsubscribed by text reply (STOP)"

    @property
    def can_turn_on(self) -> bool:
        number = self.number
        return number.text_capable and not number.sms_opt_in and not self.unsubscribed


@dataclass
class FieldRow:
    """A Family Template field on one family's page, with its number if one is entered."""

    field: PhoneField
    number: NumberView | None
    set_form: Any = None

    @property
    def missing(self) -> bool:
        return self.field.required and self.number is None


@dataclass
class FamilyPage:
    family: Family
    guardians: list[Guardian]
    students: list[Student]
    rows: list[FieldRow]

    @property
    def missing_required(self) -> list[str]:
        return [row.field.label for row in self.rows if row.missing]


@dataclass
class StaffPage:
    staff_member: StaffMember
    numbers: list[NumberView] = field(default_factory=list)


def number_views(*, organization: Organization, numbers: list[PhoneNumber]) -> list[NumberView]:
    """Numbers with their consent events and STOP state, in two queries for any count.

    A number's history is its own events plus events of the same digits that are no longer
    attached to a number (a STOP recorded against the bare number, a deleted earlier owner)."""
    if not numbers:
        return []
    e164s = {n.e164 for n in numbers}
    events = (
        ConsentEvent.objects.for_org(organization)
        .filter(
            Q(phone_number__in=[n.pk for n in numbers])
            | Q(phone_number__isnull=True, e164__in=e164s)
        )
        .select_related("policy")
        .order_by("-created_at", "-id")
    )
    by_number: dict[int, list[ConsentEvent]] = defaultdict(list)
    detached: dict[str, list[ConsentEvent]] = defaultdict(list)
    for event in events:
        if event.phone_number_id is None:
            detached[event.e164].append(event)
        else:
            by_number[event.phone_number_id].append(event)
    stopped = set(
        OptOut.objects.for_org(organization).filter(e164__in=e164s).values_list("e164", flat=True)
    )
    replies, calls_off = _replies_and_calls(organization, e164s)
    views = []
    for number in numbers:
        history = by_number[number.pk] + detached[number.e164]
        history.sort(key=lambda e: (e.created_at, e.pk), reverse=True)
        view = NumberView(number, history, number.e164 in stopped)
        view.auto_replies = replies[number.e164]
        view.calls_stopped = number.e164 in calls_off
        views.append(view)
    return views


def _replies_and_calls(organization: Organization, e164s: set[str]):
    """The automatic answers sent to these numbers (the latest 20 each) and those that asked
    not to be called."""
    from broadcasts.models import VoiceOptOut
    from families.models import AutoReply

    replies: dict[str, list] = defaultdict(list)
    for reply in AutoReply.objects.for_org(organization).filter(e164__in=e164s):
        if len(replies[reply.e164]) < 20:
            replies[reply.e164].append(reply)
    calls_off = set(
        VoiceOptOut.objects.for_org(organization)
        .filter(e164__in=e164s)
        .values_list("e164", flat=True)
    )
    return replies, calls_off


def family_detail_data(*, family: Family) -> FamilyPage:
    """The family page: template fields in order paired with this family's numbers."""
    organization = family.organization
    fields = list(PhoneField.objects.for_org(organization).order_by("order", "id"))
    numbers = list(PhoneNumber.objects.for_org(organization).filter(family=family))
    views = {v.number.field_id: v for v in number_views(organization=organization, numbers=numbers)}
    return FamilyPage(
        family=family,
        guardians=list(Guardian.objects.for_org(organization).filter(family=family)),
        students=list(
            Student.objects.for_org(organization).filter(family=family).select_related("program")
        ),
        rows=[FieldRow(f, views.get(f.pk)) for f in fields],
    )


def staff_detail_data(*, staff_member: StaffMember) -> StaffPage:
    organization = staff_member.organization
    numbers = list(
        PhoneNumber.objects.for_org(organization)
        .filter(staff_member=staff_member)
        .order_by("created_at", "id")
    )
    return StaffPage(staff_member, number_views(organization=organization, numbers=numbers))


def phone_fields_with_counts(*, organization: Organization) -> QuerySet[PhoneField]:
    """The Family Template in order, each field with how many families have a number in it."""
    return (
        PhoneField.objects.for_org(organization)
        .annotate(number_count=Count("phonenumber"))
        .order_by("order", "id")
    )


def policy_versions(*, organization: Organization) -> list[FamilyPolicy]:
    """Every version of the Family Policy, newest first, each with ``author`` (who published)."""
    versions = list(
        FamilyPolicy.objects.for_org(organization)
        .select_related("created_by__staff_member")
        .order_by("-version")
    )
    for version in versions:
        version.author = actor_label_for(version.created_by) or "—"
    return versions
