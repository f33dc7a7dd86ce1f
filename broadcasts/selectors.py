"""Read paths for broadcasts: who a selection reaches, progress, the audit log."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, QuerySet, Sum

from broadcasts.models import AuditLogEntry, Broadcast, Recipient, SendingNumber
from families.models import Family, Guardian, OptOut, PhoneNumber, Student
from families.selection import Selection, selection_queryset
from smsvoice.models import Organization

Reason = Recipient.Reason


@dataclass
class PlannedRecipient:
    e164: str
    owner_label: str
    family_id: int | None = None
    student_id: int | None = None
    staff_member_id: int | None = None
    reason: str = ""  # empty: it will be messaged
    merge_values: dict[str, str] = field(default_factory=dict)


@dataclass
class RecipientPlan:
    recipients: list[PlannedRecipient]  # to message: one per distinct number
    excluded: list[PlannedRecipient]  # left out, with their reason

    @property
    def excluded_by_reason(self) -> dict[str, int]:
        return dict(Counter(p.reason for p in self.excluded))


def excluded_rows(excluded: dict[str, int]) -> list[dict]:
    """Left-out counts as the compose windows and the API show them, with readable reasons."""
    labels = dict(Recipient.Reason.choices)
    return [
        {"reason": reason, "label": labels.get(reason, reason), "count": count}
        for reason, count in sorted(excluded.items())
    ]


def sending_number_active(*, organization: Organization) -> SendingNumber | None:
    return SendingNumber.objects.for_org(organization).filter(status="active").first()


def recipients_plan(
    *,
    organization: Organization,
    selection: Selection,
    channel: str = "sms",
    with_merge: bool = False,
) -> RecipientPlan:
    """Every number of the selected owners, deduplicated by E.164, with what leaves one out.

    SMS needs a text-capable number that opted in and has not replied STOP. A number that is
    eligible through any owner is messaged once, through the first such owner; its other
    appearances are duplicates. ``with_merge`` also loads the names merge fields need.
    """
    owners = selection_queryset(organization=organization, selection=selection)
    rows, no_number = _numbers_of(organization, selection.kind, owners)
    if with_merge:
        _add_merge_values(organization, selection, rows)
    called_off = _voice_opted_out(organization, rows) if channel == "voice" else set()
    for row in rows:
        row.reason = _sms_reason(row) if channel == "sms" else _voice_reason(row, called_off)
    rows.sort(key=lambda r: r.reason != "")  # eligible first; stable keeps the list order
    recipients, excluded, seen = [], list(no_number), set()
    for row in rows:
        if row.e164 in seen:
            row.reason = Reason.DUPLICATE
            excluded.append(row)
            continue
        seen.add(row.e164)
        (excluded if row.reason else recipients).append(row)
    for row in rows:  # drop the helper flags used to compute reasons
        row.merge_values.pop("_flags", None)
    return RecipientPlan(recipients=recipients, excluded=excluded)


def _sms_reason(row: PlannedRecipient) -> str:
    text_capable, opted_in, unsubscribed = row.merge_values["_flags"]
    if unsubscribed:
        return Reason.UNSUBSCRIBED
    if not text_capable:
        return Reason.NOT_TEXT_CAPABLE
    if not opted_in:
        return Reason.NOT_OPTED_IN
    return ""


def _voice_opted_out(organization: Organization, rows: list[PlannedRecipient]) -> set[str]:
    from broadcasts.models import VoiceOptOut

    e164s = {row.e164 for row in rows}
    found = VoiceOptOut.objects.for_org(organization).filter(e164__in=e164s)
    return set(found.values_list("e164", flat=True))


def _voice_reason(row: PlannedRecipient, called_off: set[str]) -> str:
    # Voice needs no opt-in and reaches landlines; only a number that pressed 9 is left out.
    return Reason.VOICE_OPTED_OUT if row.e164 in called_off else ""


def _numbers_of(organization: Organization, kind: str, owners: QuerySet):
    """(numbers as PlannedRecipients, owners without any number) in a few queries."""
    unsubscribed = Exists(OptOut.objects.filter(organization=organization, e164=OuterRef("e164")))
    numbers = PhoneNumber.objects.for_org(organization).annotate(unsubscribed=unsubscribed)
    if kind == "staff":
        values = (
            numbers.filter(staff_member__in=owners.values("pk"))
            .values_list(
                "e164",
                "text_capable",
                "sms_opt_in",
                "unsubscribed",
                "staff_member_id",
                "staff_member__first_name",
                "staff_member__last_name",
                "label",
            )
            .order_by("staff_member__last_name", "staff_member_id", "id")
        )
        rows = [
            PlannedRecipient(
                e164=e164,
                staff_member_id=sid,
                owner_label=f"{first} {last} — {label or 'phone'}",
                merge_values={"_flags": (capable, opted, unsub), "first_name": first},
            )
            for e164, capable, opted, unsub, sid, first, last, label in values
        ]
        missing = owners.exclude(Exists(PhoneNumber.objects.filter(staff_member=OuterRef("pk"))))
        no_number = [
            PlannedRecipient(
                e164="", staff_member_id=pk, owner_label=f"{first} {last}", reason=Reason.NO_NUMBER
            )
            for pk, first, last in missing.values_list("pk", "first_name", "last_name")
        ]
        return rows, no_number
    if kind == "students":
        return _student_numbers(numbers, owners)
    values = (
        numbers.filter(family__in=owners.values("pk"))
        .values_list(
            "e164",
            "text_capable",
            "sms_opt_in",
            "unsubscribed",
            "family_id",
            "family__name",
            "field__label",
        )
        .order_by("family__name", "family_id", "field__order", "id")
    )
    rows = [
        PlannedRecipient(
            e164=e164,
            family_id=fid,
            owner_label=f"{fname} — {label}",
            merge_values={"_flags": (capable, opted, unsub), "family_name": fname},
        )
        for e164, capable, opted, unsub, fid, fname, label in values
    ]
    missing = owners.exclude(Exists(PhoneNumber.objects.filter(family=OuterRef("pk"))))
    no_number = [
        PlannedRecipient(e164="", family_id=pk, owner_label=name, reason=Reason.NO_NUMBER)
        for pk, name in missing.values_list("pk", "name")
    ]
    return rows, no_number


def _student_numbers(numbers: QuerySet, students: QuerySet):
    """A student is reached through the family's numbers; two students of one family share
    them, so the number goes to the family once, naming both students."""
    picked = list(
        students.values_list("pk", "first_name", "last_name", "family_id", "family__name").order_by(
            "family__name", "family_id", "first_name", "pk"
        )
    )
    by_family: dict[int, list[tuple]] = defaultdict(list)
    for row in picked:
        by_family[row[3]].append(row)
    values = (
        numbers.filter(family_id__in=list(by_family))
        .values_list(
            "e164",
            "text_capable",
            "sms_opt_in",
            "unsubscribed",
            "family_id",
            "field__label",
        )
        .order_by("family__name", "family_id", "field__order", "id")
    )
    rows, families_with_numbers = [], set()
    for e164, capable, opted, unsub, fid, label in values:
        families_with_numbers.add(fid)
        first_student = by_family[fid][0]
        names = [s[1] for s in by_family[fid]]
        rows.append(
            PlannedRecipient(
                e164=e164,
                family_id=fid,
                student_id=first_student[0],
                owner_label=f"{first_student[4]} — {label} (for {', '.join(names)})",
                merge_values={
                    "_flags": (capable, opted, unsub),
                    "family_name": first_student[4],
                    "student_first_name": _and_join(names),
                },
            )
        )
    no_number = [
        PlannedRecipient(
            e164="",
            family_id=fid,
            student_id=sid,
            owner_label=f"{first} {last}",
            reason=Reason.NO_NUMBER,
        )
        for fid, students_of in by_family.items()
        if fid not in families_with_numbers
        for sid, first, last, _f, _n in students_of
    ]
    return rows, no_number


def _add_merge_values(organization: Organization, selection: Selection, rows) -> None:
    family_ids = {r.family_id for r in rows if r.family_id}
    if not family_ids:
        for row in rows:
            row.merge_values.setdefault("organization", organization.name)
        return
    first_guardian: dict[int, str] = {}
    for fid, first in (
        Guardian.objects.filter(family_id__in=family_ids)
        .order_by("family_id", "id")
        .values_list("family_id", "first_name")
    ):
        first_guardian.setdefault(fid, first)
    students: dict[int, list[str]] = defaultdict(list)
    if selection.kind == "families":
        for fid, first in (
            Student.objects.filter(family_id__in=family_ids)
            .exclude(status="inactive")
            .order_by("family_id", "first_name")
            .values_list("family_id", "first_name")
        ):
            students[fid].append(first)
    family_names = dict(Family.objects.filter(pk__in=family_ids).values_list("pk", "name"))
    for row in rows:
        values = row.merge_values
        values["organization"] = organization.name
        if row.family_id:
            values.setdefault("family_name", family_names.get(row.family_id, ""))
            values.setdefault("first_name", first_guardian.get(row.family_id, ""))
            values.setdefault("student_first_name", _and_join(students.get(row.family_id, [])))


def _and_join(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


# --- progress and the audit log ---

PROGRESS_STATES = (
    "pending",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "skipped",
    "excluded",
)


def broadcast_progress(*, broadcast: Broadcast) -> dict[str, int]:
    counts = dict(
        Recipient.objects.filter(broadcast=broadcast)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    progress = {state: counts.get(state, 0) for state in PROGRESS_STATES}
    refunded = (
        Recipient.objects.filter(broadcast=broadcast, status__in=Recipient.REFUNDABLE).aggregate(
            total=Sum("credits")
        )["total"]
        or 0
    )
    progress["credits_debited"] = broadcast.credits_debited
    progress["credits_refunded"] = refunded
    progress["credits_spent"] = broadcast.credits_debited - refunded
    progress["to_send"] = broadcast.recipient_count
    progress["finished"] = progress["pending"] + progress["sending"] == 0
    return progress


def audit_entries(*, organization: Organization) -> QuerySet[AuditLogEntry]:
    return AuditLogEntry.objects.for_org(organization).select_related("family", "sender")
