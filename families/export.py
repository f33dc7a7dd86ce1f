"""The directory as CSV: families, students, staff, and every number with its consent state.

Rows are streamed (``iterator`` in chunks, one CSV line at a time), so a large organization's
export starts at once and never sits whole in memory. Every query is scoped to the
organization. A cell that a spreadsheet would run as a formula (one starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) is neutralized with a leading apostrophe,
except a plain number such as an E.164 phone number (``+12025550123``), which no spreadsheet
runs as anything but a number. The file starts with a UTF-8 byte order mark so Excel reads
accents right.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

from families.models import ConsentEvent, Family, OptOut, PhoneField, PhoneNumber, Student
from smsvoice.models import Organization, StaffMember

KINDS = ("families", "students", "staff", "numbers")
CHUNK = 1000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def cell(value: object) -> str:
    """A value as a CSV cell a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


class _Line:
    """csv.writer writes into this and we hand each line on: no buffer of the whole file."""

    def write(self, text: str) -> str:
        return text


def csv_lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield "\ufeff"
    for row in rows:
        yield writer.writerow([cell(value) for value in row])


def export_filename(*, organization: Organization, kind: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", organization.name.lower()).strip("-") or "directory"
    return f"{slug}-{kind}-{timezone.localdate().isoformat()}.csv"


def export_rows(*, organization: Organization, kind: str) -> Iterator[list[object]]:
    """The header, then one list of values per row, of one kind (see KINDS)."""
    return _EXPORTS[kind](organization)


def _consent_state(number: PhoneNumber, stopped: set[str]) -> str:
    if number.e164 in stopped:
        return "replied STOP"
    if number.sms_opt_in:
        return "opted in"
    return "not opted in" if number.text_capable else "not text-capable"


def _stopped(organization: Organization) -> set[str]:
    return set(OptOut.objects.for_org(organization).values_list("e164", flat=True))


def _families(organization: Organization) -> Iterator[list[object]]:
    fields = list(PhoneField.objects.for_org(organization).order_by("order", "id"))
    stopped = _stopped(organization)
    header = ["id", "external_id", "name", "status", "location", "guardians", "students"]
    for field in fields:
        header += [field.label, f"{field.label}: texts"]
    yield header
    families = (
        Family.objects.for_org(organization)
        .select_related("location")
        .prefetch_related(
            "guardians",
            Prefetch("students", queryset=Student.objects.order_by("first_name", "id")),
            "phone_numbers",
        )
        .order_by("name", "id")
    )
    for family in families.iterator(chunk_size=CHUNK):
        numbers = {n.field_id: n for n in family.phone_numbers.all()}
        guardians = "; ".join(
            f"{g.full_name} <{g.email}>" if g.email else g.full_name for g in family.guardians.all()
        )
        row = [
            family.pk,
            family.external_id,
            family.name,
            family.status,
            family.location.name if family.location else "",
            guardians,
            "; ".join(s.full_name for s in family.students.all()),
        ]
        for field in fields:
            number = numbers.get(field.pk)
            row += [number.e164, _consent_state(number, stopped)] if number else ["", ""]
        yield row


def _students(organization: Organization) -> Iterator[list[object]]:
    yield [
        "id",
        "external_id",
        "first_name",
        "last_name",
        "birth_date",
        "program",
        "level",
        "status",
        "family_id",
        "family_external_id",
        "family_name",
    ]
    students = (
        Student.objects.for_org(organization)
        .select_related("family", "program")
        .order_by("last_name", "first_name", "id")
    )
    for s in students.iterator(chunk_size=CHUNK):
        yield [
            s.pk,
            s.external_id,
            s.first_name,
            s.last_name,
            s.birth_date,
            s.program.name if s.program else "",
            s.level,
            s.status,
            s.family_id,
            s.family.external_id,
            s.family.name,
        ]


def _staff(organization: Organization) -> Iterator[list[object]]:
    yield ["id", "first_name", "last_name", "title", "email", "role", "active", "numbers"]
    staff = StaffMember.objects.for_org(organization).prefetch_related("phone_numbers")
    for m in staff.order_by("last_name", "first_name", "id").iterator(chunk_size=CHUNK):
        numbers = "; ".join(
            f"{n.label}: {n.e164}" if n.label else n.e164 for n in m.phone_numbers.all()
        )
        yield [m.pk, m.first_name, m.last_name, m.title, m.email, m.role, m.is_active, numbers]


def _numbers(organization: Organization) -> Iterator[list[object]]:
    yield [
        "owner",
        "family_id",
        "family_external_id",
        "staff_id",
        "name",
        "field",
        "number",
        "text_capable",
        "consent",
        "consent_source",
        "consent_at",
        "consent_note",
    ]
    stopped = _stopped(organization)
    last = ConsentEvent.objects.filter(phone_number=OuterRef("pk")).order_by("-created_at", "-id")
    numbers: QuerySet = (
        PhoneNumber.objects.for_org(organization)
        .select_related("family", "field", "staff_member")
        .annotate(
            consent_source=Subquery(last.values("source")[:1]),
            consent_at=Subquery(last.values("created_at")[:1]),
            consent_note=Subquery(last.values("note")[:1]),
        )
        .order_by("family__name", "family_id", "staff_member_id", "field__order", "id")
    )
    for n in numbers.iterator(chunk_size=CHUNK):
        family = n.family
        yield [
            "family" if family else "staff",
            n.family_id,
            family.external_id if family else "",
            n.staff_member_id,
            family.name if family else n.staff_member.full_name,
            n.field.label if n.field else n.label,
            n.e164,
            n.text_capable,
            _consent_state(n, stopped),
            n.consent_source or "",
            n.consent_at,
            n.consent_note or "",
        ]


_EXPORTS: dict[str, Callable[[Organization], Iterator[list[object]]]] = {
    "families": _families,
    "students": _students,
    "staff": _staff,
    "numbers": _numbers,
}
