"""What an import will do, decided before anything is written, and decided the same way again
while it is written: the preview and the import are one computation.

1. ``rows_read``: each file row becomes a ``RowIn`` (family, up to two guardians, a student,
   numbers), its cells checked with ``families.sync``'s cleaners (the pages' forms and
   ``families.phones``), so a row is refused in the forms' words, naming its row and column.
2. ``groups_make``: rows of one family are grouped (by the family key column, else the family
   id column; without either each row is a family) and merged into a ``FamilyIn``.
3. ``Planner.plan``: each group, in file order, is matched to a family (its external id; else a
   guardian email; else family name and a phone number) among the directory's and the ones the
   earlier groups of the file will make, and compared with that family's ``FamilyState`` to
   give the ``Change`` list that makes it so. Applying a change to the state is what writing it
   does to the rows (``apply`` loads the state back from the database), so re-running the file
   finds nothing to change, and the preview's counts are the import's.

Nothing is deleted: an empty cell changes nothing, a guardian, student or number missing from
the file stays. Texting is turned on only for a number the file opts in, when the admin stated
the consent basis, and never for a number that replied STOP or cannot take texts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models.functions import Lower

from families import sync
from families.importing import cells
from families.importing.parse import ParsedFile
from families.models import (
    Family,
    Guardian,
    Location,
    OptOut,
    PhoneField,
    PhoneNumber,
    Program,
    Student,
)
from families.phones import phone_display, phone_likely_text_capable
from smsvoice.models import Organization

CREATED, UPDATED, UNCHANGED, ERROR = "created", "updated", "unchanged", "error"


@dataclass(frozen=True)
class Issue:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}, {self.column}" if self.column else f"row {self.row}"
        return f"{where}: {self.message}"


@dataclass
class Config:
    """The admin's choices: ``columns`` {column index: target key}, the date order, and the
    consent basis (empty: no number is opted in, whatever the file says)."""

    columns: dict[int, str]
    date_order: str = "mdy"
    consent_basis: str = ""

    @classmethod
    def from_json(cls, data: dict) -> Config:
        columns = {int(k): v for k, v in (data.get("columns") or {}).items() if v}
        return cls(
            columns=columns,
            date_order=data.get("date_order") or "mdy",
            consent_basis=data.get("consent_basis") or "",
        )

    def to_json(self) -> dict:
        return {
            "columns": {str(k): v for k, v in sorted(self.columns.items())},
            "date_order": self.date_order,
            "consent_basis": self.consent_basis,
        }


# --- What the file says ---


@dataclass
class GuardianIn:
    row: int
    first_name: str
    last_name: str
    email: str

    def same_as(self, other_first: str, other_last: str, other_email: str) -> bool:
        if self.email and other_email:
            return self.email.lower() == other_email.lower()
        return (self.first_name.lower(), self.last_name.lower()) == (
            other_first.lower(),
            other_last.lower(),
        )


@dataclass
class StudentIn:
    row: int
    values: dict[str, Any]  # cleaned: first_name, last_name, birth_date, level, status, program
    external_id: str = ""

    @property
    def name_key(self) -> tuple[str, str]:
        return (
            self.values.get("first_name", "").lower(),
            self.values.get("last_name", "").lower(),
        )


@dataclass
class PhoneIn:
    row: int
    column: str
    e164: str
    text_capable: bool | None = None
    opt_in: bool = False


@dataclass
class RowIn:
    row: int
    cells: tuple[str, ...]
    key: str = ""
    external_id: str = ""
    family: dict[str, Any] = field(default_factory=dict)  # name, status, location (cleaned)
    name_given: bool = False
    guardians: list[GuardianIn] = field(default_factory=list)
    student: StudentIn | None = None
    phones: dict[int, PhoneIn] = field(default_factory=dict)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)


@dataclass
class FamilyIn:
    rows: list[int]
    key: str = ""
    external_id: str = ""
    name: str = ""
    name_given: bool = False
    status: str | None = None
    location: str | None = None
    guardians: list[GuardianIn] = field(default_factory=list)
    students: list[StudentIn] = field(default_factory=list)
    phones: dict[int, PhoneIn] = field(default_factory=dict)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def first_row(self) -> int:
        return self.rows[0]

    def emails(self) -> set[str]:
        return {g.email.lower() for g in self.guardians if g.email}


# --- Reading rows ---


class _Row:
    """One file row's cells by target, with the header each came from (for messages)."""

    def __init__(self, cells_: list[str], headers: list[str], columns: dict[int, str]) -> None:
        self.values: dict[str, str] = {}
        self.headers: dict[str, str] = {}
        for index, key in columns.items():
            if index < len(cells_):
                self.values[key] = cells_[index]
                self.headers[key] = headers[index]

    def get(self, key: str) -> str:
        return self.values.get(key, "")

    def has(self, key: str) -> bool:
        return key in self.values

    def column(self, *keys: str) -> str:
        for key in keys:
            if key in self.headers and self.values.get(key):
                return self.headers[key]
        for key in keys:
            if key in self.headers:
                return self.headers[key]
        return ""


def _split_name(full: str) -> tuple[str, str]:
    """'Jane Smith' → Jane, Smith; 'Smith, Jane' → Jane, Smith; 'Mary Ann de la Cruz' keeps
    the last word as the last name, as most exports that join names do."""
    full = " ".join(full.split())
    if "," in full:
        last, _, first = full.partition(",")
        return first.strip(), last.strip()
    first, _, last = full.rpartition(" ")
    return (first, last) if first else (last, "")


def _issues(row: int, errors: dict[str, list[str]], columns: dict[str, str]) -> list[Issue]:
    return [
        Issue(row, columns.get(name, ""), message)
        for name, messages in errors.items()
        for message in messages
    ]


class RowReader:
    def __init__(self, *, organization: Organization, headers: list[str], config: Config) -> None:
        self.organization = organization
        self.headers = headers
        self.config = config
        self.fields = {f.pk: f for f in PhoneField.objects.for_org(organization)}
        self.cleaned: dict[tuple, sync.Cleaned] = {}

    def _clean(self, kind: str, data: dict[str, Any], **context: Any) -> sync.Cleaned:
        """families.sync's cleaner of this kind. The rows of one family repeat its family,
        guardian and number cells, so each distinct input is cleaned once per file."""
        key = (
            kind,
            tuple(sorted((name, str(value)) for name, value in data.items())),
            tuple(sorted((name, getattr(value, "pk", value)) for name, value in context.items())),
        )
        if key not in self.cleaned:
            self.cleaned[key] = getattr(sync, f"{kind}_clean")(data=data, **context)
        return self.cleaned[key]

    def read(self, number: int, cells_: list[str]) -> RowIn:
        row = _Row(cells_, self.headers, self.config.columns)
        out = RowIn(row=number, cells=tuple(cells_))
        out.key = row.get("family_key")
        self._family(row, out)
        for slot in (1, 2):
            self._guardian(row, out, slot)
        self._student(row, out)
        self._phones(row, out)
        self._family_name_fallback(row, out)
        return out

    def _family(self, row: _Row, out: RowIn) -> None:
        if row.get("family_external_id"):
            out.external_id, problems = sync.external_id_clean(row.get("family_external_id"))
            out.errors += [Issue(out.row, row.column("family_external_id"), m) for m in problems]
        data: dict[str, str] = {}
        if row.get("family_name"):
            data["name"] = row.get("family_name")
            out.name_given = True
        if row.get("family_status"):
            data["status"] = cells.family_status(row.get("family_status"))
        if row.get("location"):
            data["location"] = row.get("location")
        cleaned = self._clean("family", data, organization=self.organization)
        out.family = dict(cleaned.values)
        columns = {
            "name": row.column("family_name"),
            "status": row.column("family_status"),
            "location": row.column("location"),
        }
        out.errors += _issues(out.row, cleaned.errors, columns)

    def _guardian(self, row: _Row, out: RowIn, slot: int) -> None:
        keys = [f"g{slot}_first", f"g{slot}_last", f"g{slot}_name", f"g{slot}_email"]
        if not any(row.get(key) for key in keys):
            return
        first, last = row.get(keys[0]), row.get(keys[1])
        if row.get(keys[2]) and not (first or last):
            first, last = _split_name(row.get(keys[2]))
        if not (first or last):
            out.warnings.append(
                Issue(
                    out.row,
                    row.column(keys[3]),
                    "a guardian needs a name, so this email is not "
                    "imported (map a column with the guardian's name to keep it).",
                )
            )
            return
        data = {"first_name": first, "last_name": last, "email": row.get(keys[3])}
        cleaned = self._clean("guardian", data)
        columns = {
            "first_name": row.column(keys[0], keys[2], keys[3]),
            "last_name": row.column(keys[1], keys[2]),
            "email": row.column(keys[3]),
        }
        if cleaned.errors:
            out.errors += _issues(out.row, cleaned.errors, columns)
            return
        values = cleaned.values
        out.guardians.append(
            GuardianIn(
                out.row, values["first_name"], values.get("last_name", ""), values.get("email", "")
            )
        )

    def _student(self, row: _Row, out: RowIn) -> None:
        keys = [
            "student_first",
            "student_last",
            "student_name",
            "birth_date",
            "program",
            "level",
            "student_status",
            "student_external_id",
        ]
        if not any(row.get(key) for key in keys):
            return
        first, last = row.get("student_first"), row.get("student_last")
        if row.get("student_name") and not (first or last):
            first, last = _split_name(row.get("student_name"))
        data: dict[str, Any] = {"first_name": first, "last_name": last}
        errors: list[Issue] = []
        if row.get("birth_date"):
            try:
                data["birth_date"] = cells.birth_date(
                    row.get("birth_date"), order=self.config.date_order
                )
            except cells.CellError as exc:
                errors.append(Issue(out.row, row.column("birth_date"), str(exc)))
        for key, name in (("program", "program"), ("level", "level")):
            if row.get(key):
                data[name] = row.get(key)
        if row.get("student_status"):
            data["status"] = cells.student_status(row.get("student_status"))
        if row.get("student_external_id"):
            data["external_id"] = row.get("student_external_id")
        cleaned = self._clean("student", data, organization=self.organization)
        columns = {
            "first_name": row.column("student_first", "student_name"),
            "last_name": row.column("student_last", "student_name"),
            "birth_date": row.column("birth_date"),
            "program": row.column("program"),
            "level": row.column("level"),
            "status": row.column("student_status"),
            "external_id": row.column("student_external_id"),
        }
        errors += _issues(out.row, cleaned.errors, columns)
        if errors:
            out.errors += errors
            return
        values = dict(cleaned.values)
        external_id = values.pop("external_id", "")
        out.student = StudentIn(out.row, values, external_id)

    def _phones(self, row: _Row, out: RowIn) -> None:
        opt_in_all = self._flag(row, out, "opt_in_all")
        for field_id, phone_field in self.fields.items():
            raw = row.get(f"phone:{field_id}")
            capable = self._flag(row, out, f"text_capable:{field_id}")
            opt_in = self._flag(row, out, f"opt_in:{field_id}")
            if not raw:
                if opt_in:
                    out.warnings.append(
                        Issue(
                            out.row,
                            row.column(f"opt_in:{field_id}"),
                            f"opts in {phone_field.label} but the row has no number there; "
                            "nothing to opt in.",
                        )
                    )
                continue
            cleaned = self._clean(
                "number", {"number": raw}, organization=self.organization, field=phone_field
            )
            if cleaned.errors:
                column = row.column(f"phone:{field_id}")
                out.errors += _issues(out.row, cleaned.errors, {"number": column})
                continue
            out.phones[field_id] = PhoneIn(
                out.row,
                row.column(f"phone:{field_id}"),
                cleaned.values["e164"],
                capable,
                bool(opt_in or (opt_in_all and capable is not False)),
            )

    def _flag(self, row: _Row, out: RowIn, key: str) -> bool | None:
        if not row.get(key):
            return None
        try:
            return cells.yes_no(row.get(key))
        except cells.CellError as exc:
            out.errors.append(Issue(out.row, row.column(key), str(exc)))
            return None

    def _family_name_fallback(self, row: _Row, out: RowIn) -> None:
        if out.family.get("name"):
            return
        for guardian in out.guardians:
            if guardian.last_name:
                out.family["name"] = guardian.last_name
                return
        if out.student and out.student.values.get("last_name"):
            out.family["name"] = out.student.values["last_name"]


PROGRESS_EVERY = 500


def rows_read(
    *,
    organization: Organization,
    parsed: ParsedFile,
    config: Config,
    progress: Callable[[int], None] | None = None,
) -> list[RowIn]:
    """Every row read and checked; ``progress(rows so far)`` is told every few hundred rows."""
    reader = RowReader(organization=organization, headers=parsed.headers, config=config)
    rows = []
    for number, cells_ in parsed.rows:
        rows.append(reader.read(number, cells_))
        if progress is not None and len(rows) % PROGRESS_EVERY == 0:
            progress(len(rows))
    _duplicates_warn(rows)
    return rows


def _duplicates_warn(rows: list[RowIn]) -> None:
    first_seen: dict[tuple[str, ...], int] = {}
    for row in rows:
        earlier = first_seen.setdefault(row.cells, row.row)
        if earlier != row.row:
            row.warnings.append(Issue(row.row, "", f"repeats row {earlier} exactly."))


# --- Grouping rows into families ---


def groups_make(rows: list[RowIn]) -> list[FamilyIn]:
    """Rows grouped into families: by the family key (or family id) column, then groups that
    share a guardian email, or a family name and a number, joined (unless their keys or ids
    say they are different families), so a file read twice is planned the same way."""
    by_key: dict[str, list[RowIn]] = {}
    members: list[list[RowIn]] = []
    for row in rows:
        key = row.key or row.external_id
        if key and key in by_key:
            by_key[key].append(row)
            continue
        members.append([row])
        if key:
            by_key[key] = members[-1]
    first = [_group_of(rows_) for rows_ in members]
    joined = _join(first)
    groups = []
    for root, indexes in joined.items():
        group = _group_of([row for i in indexes for row in members[i]])
        for i in indexes[1:]:
            why = _shared(first[root], first[i])
            group.warnings.append(
                Issue(
                    first[i].first_row,
                    "",
                    f"is the same family as row {first[root].first_row} "
                    f"({why}); they are imported as one family.",
                )
            )
        groups.append(group)
    return groups


def _group_of(rows: list[RowIn]) -> FamilyIn:
    group = FamilyIn(rows=[])
    for row in sorted(rows, key=lambda r: r.row):
        _merge(group, row)
        group.key = group.key or row.key
    return group


def _match_keys(group: FamilyIn) -> list[tuple]:
    keys: list[tuple] = [("email", email) for email in sorted(group.emails())]
    if group.name:
        keys += [("name", group.name.lower(), p.e164) for p in group.phones.values()]
    return keys


def _shared(a: FamilyIn, b: FamilyIn) -> str:
    common = set(_match_keys(a)) & set(_match_keys(b))
    key = min(common) if common else ("email", "")
    if key[0] == "email":
        return f"guardian email {key[1]}"
    return f"family name and {phone_display(key[2])}"


def _join(groups: list[FamilyIn]) -> dict[int, list[int]]:
    """{first group's index: indexes of the groups that are one family}, in file order."""
    parent = list(range(len(groups)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def apart(a: FamilyIn, b: FamilyIn) -> bool:
        return bool(
            (a.external_id and b.external_id and a.external_id != b.external_id)
            or (a.key and b.key and a.key != b.key)
        )

    owner: dict[tuple, int] = {}
    for index, group in enumerate(groups):
        if group.errors:
            continue
        for key in _match_keys(group):
            other = owner.setdefault(key, index)
            first, second = sorted((root(other), root(index)))
            if first != second and not apart(groups[first], groups[second]):
                parent[second] = first
    joined: dict[int, list[int]] = {}
    for index in range(len(groups)):
        joined.setdefault(root(index), []).append(index)
    return joined


def _merge(group: FamilyIn, row: RowIn) -> None:
    group.rows.append(row.row)
    group.errors += row.errors
    group.warnings += row.warnings
    if row.external_id and not group.external_id:
        group.external_id = row.external_id
    elif row.external_id and row.external_id != group.external_id:
        group.errors.append(
            Issue(
                row.row,
                "",
                f"family id {row.external_id} differs from {group.external_id} on "
                f"row {group.first_row} of the same family key.",
            )
        )
    for name in ("status", "location"):
        value = row.family.get(name)
        if value and getattr(group, name) is None:
            setattr(group, name, value)
    if row.family.get("name") and (not group.name or (row.name_given and not group.name_given)):
        group.name, group.name_given = row.family["name"], row.name_given
    for guardian in row.guardians:
        if not any(
            g.same_as(guardian.first_name, guardian.last_name, guardian.email)
            for g in group.guardians
        ):
            group.guardians.append(guardian)
    if row.student is not None:
        _merge_student(group, row.student)
    for field_id, phone in row.phones.items():
        kept = group.phones.get(field_id)
        if kept is None:
            group.phones[field_id] = phone
        elif kept.e164 != phone.e164:
            group.warnings.append(
                Issue(
                    row.row,
                    phone.column,
                    f"{phone_display(phone.e164)} differs from "
                    f"{phone_display(kept.e164)} on row {kept.row} of the same family; row "
                    f"{kept.row}'s is used.",
                )
            )
        else:
            kept.opt_in |= phone.opt_in
            if kept.text_capable is None:
                kept.text_capable = phone.text_capable


def _merge_student(group: FamilyIn, student: StudentIn) -> None:
    for kept in group.students:
        same = (student.external_id and student.external_id == kept.external_id) or (
            not (student.external_id and kept.external_id) and kept.name_key == student.name_key
        )
        if same:
            for name, value in student.values.items():
                kept.values.setdefault(name, value)
            kept.external_id = kept.external_id or student.external_id
            return
    group.students.append(student)


# --- The directory as the import sees it ---


@dataclass
class GuardianState:
    id: int | None
    first_name: str
    last_name: str
    email: str


@dataclass
class StudentState:
    id: int | None
    external_id: str
    values: dict[str, Any]  # first_name, last_name, birth_date, program (name), level, status


@dataclass
class PhoneState:
    e164: str
    text_capable: bool
    opt_in: bool


@dataclass
class FamilyState:
    ref: Any  # the family's id, or ("new", n) for one this import makes
    name: str
    status: str
    location: str  # the location's name, "" for none
    external_id: str
    guardians: list[GuardianState] = field(default_factory=list)
    students: list[StudentState] = field(default_factory=list)
    phones: dict[int, PhoneState] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    """One write: ``kind`` names the service call in ``apply``; ``words`` is for people."""

    kind: str
    words: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class GroupPlan:
    group: FamilyIn
    action: str
    state: FamilyState | None = None
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.action == ERROR:
            return "; ".join(str(issue) for issue in self.group.errors)
        words = [change.words for change in self.changes if change.words]
        return "; ".join(words + self.notes)


def _student_values(student: Student) -> dict[str, Any]:
    return {
        "first_name": student.first_name,
        "last_name": student.last_name,
        "birth_date": student.birth_date,
        "program": student.program.name if student.program_id else "",
        "level": student.level,
        "status": student.status,
    }


def family_state(family: Family) -> FamilyState:
    """The state of a family as stored (its guardians, students and numbers prefetched)."""
    return FamilyState(
        ref=family.pk,
        name=family.name,
        status=family.status,
        location=family.location.name if family.location_id else "",
        external_id=family.external_id,
        guardians=[
            GuardianState(g.pk, g.first_name, g.last_name, g.email)
            for g in sorted(family.guardians.all(), key=lambda g: g.pk)
        ],
        students=[
            StudentState(s.pk, s.external_id, _student_values(s))
            for s in sorted(family.students.all(), key=lambda s: s.pk)
        ],
        phones={
            n.field_id: PhoneState(n.e164, n.text_capable, n.sms_opt_in)
            for n in family.phone_numbers.all()
        },
    )


def family_state_load(pk: int) -> FamilyState:
    family = (
        Family.objects.select_related("location")
        .prefetch_related("guardians", "students__program", "phone_numbers")
        .get(pk=pk)
    )
    return family_state(family)


def _batches(values: set, size: int = 500):
    items = sorted(values, key=str)
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Planner:
    """Matches groups to families and works out their changes, keeping an in-memory index of
    the directory (loaded for the groups' keys) that each planned group updates."""

    def __init__(self, *, organization: Organization, config: Config) -> None:
        self.organization = organization
        self.config = config
        self.fields = {f.pk: f for f in PhoneField.objects.for_org(organization)}
        self.states: dict[Any, FamilyState] = {}
        self.by_external: dict[str, Any] = {}
        self.by_email: dict[str, set] = defaultdict(set)
        self.by_name_phone: dict[tuple[str, str], set] = defaultdict(set)
        self.student_owner: dict[str, Any] = {}
        self.stopped: set[str] = set()
        self.locations = {
            n.lower(): n
            for n in Location.objects.for_org(organization).values_list("name", flat=True)
        }
        self.programs = {
            n.lower(): n
            for n in Program.objects.for_org(organization).values_list("name", flat=True)
        }
        self.new_locations: list[str] = []
        self.new_programs: list[str] = []
        # Families written by this planner's chunk: their state is read back from the
        # database (with the new rows' ids) only if a later group matches them.
        self.stale: set[int] = set()
        # family ref → the first row of the group that took it; number → (family ref, row)
        self.claimed: dict[Any, int] = {}
        self.numbers_seen: dict[str, tuple[Any, int]] = {}
        self._new = 0

    # -- loading --

    def load(self, groups: list[FamilyIn]) -> None:
        """Read the families these groups could match, and the STOP list of their numbers."""
        org = self.organization
        families = Family.objects.for_org(org)
        ids: set[int] = set()
        externals = {g.external_id for g in groups if g.external_id}
        for batch in _batches(externals):
            ids.update(families.filter(external_id__in=batch).values_list("pk", flat=True))
        emails = set().union(*(g.emails() for g in groups)) if groups else set()
        guardians = Guardian.objects.for_org(org).annotate(lower=Lower("email"))
        for batch in _batches(emails):
            ids.update(guardians.filter(lower__in=batch).values_list("family_id", flat=True))
        names = {g.name.lower() for g in groups if g.name}
        numbers = {p.e164 for g in groups for p in g.phones.values()}
        phones = PhoneNumber.objects.for_org(org).filter(family__isnull=False)
        for batch in _batches(numbers):
            for family_id, name in phones.filter(e164__in=batch).values_list(
                "family_id", "family__name"
            ):
                if name.lower() in names:
                    ids.add(family_id)
        students = {s.external_id for g in groups for s in g.students if s.external_id}
        for batch in _batches(students):
            for external_id, family_id in (
                Student.objects.for_org(org)
                .filter(external_id__in=batch)
                .values_list("external_id", "family_id")
            ):
                ids.add(family_id)
                self.student_owner[external_id] = family_id
        for batch in _batches(ids):
            for family in (
                families.filter(pk__in=batch)
                .select_related("location")
                .prefetch_related("guardians", "students__program", "phone_numbers")
            ):
                self._index(family_state(family))
        for batch in _batches(numbers):
            self.stopped.update(
                OptOut.objects.for_org(org).filter(e164__in=batch).values_list("e164", flat=True)
            )

    def _index(self, state: FamilyState) -> None:
        self.states[state.ref] = state
        if state.external_id:
            self.by_external[state.external_id] = state.ref
        for guardian in state.guardians:
            if guardian.email:
                self.by_email[guardian.email.lower()].add(state.ref)
        for phone in state.phones.values():
            self.by_name_phone[(state.name.lower(), phone.e164)].add(state.ref)
        for student in state.students:
            if student.external_id:
                self.student_owner[student.external_id] = state.ref

    # -- matching --

    def match(self, group: FamilyIn) -> tuple[FamilyState | None, str]:
        """The family this group is, and how it was found ("" for none); raises ValueError
        with the reason when it could be several."""
        if group.external_id and group.external_id in self.by_external:
            return self.states[self.by_external[group.external_id]], "family id"
        found: dict[Any, str] = {}
        for email in sorted(group.emails()):
            for ref in self.by_email.get(email, ()):
                found.setdefault(ref, f"guardian email {email}")
        for phone in group.phones.values():
            for ref in self.by_name_phone.get((group.name.lower(), phone.e164), ()):
                found.setdefault(ref, f"family name and {phone_display(phone.e164)}")
        if group.external_id:
            # A family another system already knows by another id is not this one.
            found = {
                r: how
                for r, how in found.items()
                if self.states[r].external_id in ("", group.external_id)
            }
        if len(found) > 1:
            names = ", ".join(sorted(self.states[r].name for r in found))
            raise ValueError(
                f"matches {len(found)} families already in the directory ({names}) by "
                "guardian email or family name and number; add a family id column, or merge "
                "those families first."
            )
        if found:
            ref, how = next(iter(found.items()))
            return self.states[ref], how
        return None, ""

    # -- planning --

    def plan(self, group: FamilyIn) -> GroupPlan:
        if group.errors:
            return GroupPlan(group, ERROR)
        try:
            state, how = self.match(group)
        except ValueError as exc:
            group.errors.append(Issue(group.first_row, "", str(exc)))
            return GroupPlan(group, ERROR)
        if state is not None and state.ref in self.stale:
            self.stale.discard(state.ref)
            fresh = family_state_load(state.ref)
            self.state_replace(fresh, state.ref)
            state = fresh
        if state is None and not group.name:
            group.errors.append(
                Issue(
                    group.first_row,
                    "",
                    "no family name: map a Family name column, or a "
                    "guardian's or student's last name.",
                )
            )
            return GroupPlan(group, ERROR)
        problems = self._refusals(group, state)
        if problems:
            group.errors += problems
            return GroupPlan(group, ERROR)
        plan = GroupPlan(group, CREATED if state is None else UNCHANGED, state)
        if state is not None and state.ref in self.claimed:
            plan.notes.append(f"same family as row {self.claimed[state.ref]} ({how})")
            group.warnings.append(
                Issue(
                    group.first_row,
                    "",
                    f"is the same family as row {self.claimed[state.ref]} "
                    f"({how}); they are imported as one family.",
                )
            )
        elif how:
            plan.notes.append(f"matched by {how}")
        if state is None:
            self._new += 1
            state = FamilyState(("new", self._new), "", "active", "", "")
            plan.changes.append(Change("family_create", f"new family {group.name}"))
        plan.changes += self._family_changes(group, state, created=plan.action == CREATED)
        plan.changes += self._guardian_changes(group, state)
        plan.changes += self._student_changes(group, state)
        plan.changes += self._phone_changes(group, state, plan)
        if plan.action == UNCHANGED and plan.changes:
            plan.action = UPDATED
        plan.state = state
        self.claimed.setdefault(state.ref, group.first_row)
        self._shared_numbers_warn(group, state)
        self._index(state)
        return plan

    def _shared_numbers_warn(self, group: FamilyIn, state: FamilyState) -> None:
        """A number on two families of the file is allowed (a shared household line) but is
        worth a look."""
        for phone in group.phones.values():
            ref, row = self.numbers_seen.setdefault(phone.e164, (state.ref, group.first_row))
            if ref != state.ref:
                shown = phone_display(phone.e164)
                why = f"{shown} is also the number of the family on row {row}."
                group.warnings.append(Issue(phone.row, phone.column, why))

    def forget(self, ref: Any) -> None:
        """A planned new family that was not made after all."""
        self.states.pop(ref, None)
        self.claimed.pop(ref, None)
        for refs in (*self.by_email.values(), *self.by_name_phone.values()):
            refs.discard(ref)
        for table in (self.by_external, self.student_owner):
            for key in [k for k, r in table.items() if r == ref]:
                del table[key]
        for key in [k for k, (r, _) in self.numbers_seen.items() if r == ref]:
            del self.numbers_seen[key]

    def state_replace(self, state: FamilyState, old_ref: Any) -> None:
        """After a group is written: the family as stored (with its rows' ids) stands for the
        planned one, so a later group of the chunk that matches it updates real rows."""
        self.states.pop(old_ref, None)
        if old_ref in self.claimed:
            self.claimed[state.ref] = self.claimed.pop(old_ref)
        for refs in (*self.by_email.values(), *self.by_name_phone.values()):
            if old_ref in refs:
                refs.discard(old_ref)
                refs.add(state.ref)
        for key, ref in list(self.by_external.items()):
            if ref == old_ref:
                self.by_external[key] = state.ref
        for key, ref in list(self.student_owner.items()):
            if ref == old_ref:
                self.student_owner[key] = state.ref
        for key, (ref, row) in list(self.numbers_seen.items()):
            if ref == old_ref:
                self.numbers_seen[key] = (state.ref, row)
        self._index(state)

    def _refusals(self, group: FamilyIn, state: FamilyState | None) -> list[Issue]:
        issues = []
        if state is None:
            for field_id, phone_field in self.fields.items():
                if phone_field.required and field_id not in group.phones:
                    issues.append(
                        Issue(
                            group.first_row, phone_field.label, f"{phone_field.label} is required."
                        )
                    )
        ref = state.ref if state else None
        for student in group.students:
            owner = self.student_owner.get(student.external_id) if student.external_id else None
            if owner is not None and owner != ref:
                other = self.states[owner].name if owner in self.states else "another family"
                issues.append(
                    Issue(
                        student.row,
                        "",
                        f"student id {student.external_id} belongs to a student "
                        f"of another family ({other}).",
                    )
                )
        return issues

    def _location(self, name: str | None, known: dict[str, str], new: list[str]) -> str | None:
        if not name:
            return None
        if name.lower() not in known:
            known[name.lower()] = name
            new.append(name)
        return known[name.lower()]

    def _family_changes(self, group: FamilyIn, state: FamilyState, *, created: bool) -> list:
        wanted: dict[str, Any] = {}
        if group.name and (created or group.name_given) and group.name != state.name:
            wanted["name"] = group.name
        if group.status and group.status != state.status:
            wanted["status"] = group.status
        location = self._location(group.location, self.locations, self.new_locations)
        if location is not None and location != state.location:
            wanted["location"] = location
        if group.external_id and group.external_id != state.external_id:
            wanted["external_id"] = group.external_id
        if not wanted:
            return []
        for name, value in wanted.items():
            setattr(state, name, value)
        if created:
            return [Change("family_set", "", wanted)]
        words = ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in wanted.items())
        return [Change("family_set", f"family {words}", wanted)]

    def _guardian_changes(self, group: FamilyIn, state: FamilyState) -> list[Change]:
        changes = []
        for guardian in group.guardians:
            kept = next(
                (
                    g
                    for g in state.guardians
                    if guardian.same_as(g.first_name, g.last_name, g.email)
                ),
                None,
            )
            given = {
                "first_name": guardian.first_name,
                "last_name": guardian.last_name,
                "email": guardian.email,
            }
            if kept is None:
                state.guardians.append(GuardianState(None, **given))
                changes.append(
                    Change(
                        "guardian_add",
                        f"adds guardian {guardian.first_name} {guardian.last_name}".strip(),
                        {"values": given},
                    )
                )
                continue
            wanted = {k: v for k, v in given.items() if v and v != getattr(kept, k)}
            if wanted:
                index = state.guardians.index(kept)
                for name, value in wanted.items():
                    setattr(kept, name, value)
                changes.append(
                    Change(
                        "guardian_set",
                        f"updates guardian {kept.first_name}",
                        {"index": index, "id": kept.id, "values": wanted},
                    )
                )
        return changes

    def _student_changes(self, group: FamilyIn, state: FamilyState) -> list[Change]:
        changes = []
        for student in group.students:
            values = dict(student.values)
            if "program" in values:
                values["program"] = self._location(
                    values["program"], self.programs, self.new_programs
                )
            kept = self._student_match(student, state)
            if kept is None:
                full = {
                    "birth_date": None,
                    "program": "",
                    "level": "",
                    "status": "active",
                    "last_name": "",
                    **values,
                }
                state.students.append(StudentState(None, student.external_id, full))
                name = f"{full['first_name']} {full['last_name']}".strip()
                changes.append(
                    Change(
                        "student_add",
                        f"adds student {name}",
                        {"values": values, "external_id": student.external_id},
                    )
                )
                continue
            wanted = {k: v for k, v in values.items() if v != kept.values.get(k)}
            external = student.external_id if student.external_id != kept.external_id else ""
            if wanted or external:
                index = state.students.index(kept)
                kept.values.update(wanted)
                kept.external_id = kept.external_id or student.external_id
                changes.append(
                    Change(
                        "student_set",
                        f"updates student {kept.values['first_name']}",
                        {"index": index, "id": kept.id, "values": wanted, "external_id": external},
                    )
                )
        return changes

    def _student_match(self, student: StudentIn, state: FamilyState) -> StudentState | None:
        if student.external_id:
            for kept in state.students:
                if kept.external_id == student.external_id:
                    return kept
        for kept in state.students:
            if student.external_id and kept.external_id:
                continue
            key = (kept.values["first_name"].lower(), kept.values["last_name"].lower())
            if key == student.name_key:
                return kept
        return None

    def _phone_changes(self, group: FamilyIn, state: FamilyState, plan: GroupPlan) -> list:
        changes = []
        for field_id, phone in group.phones.items():
            label = self.fields[field_id].label
            kept = state.phones.get(field_id)
            if kept is None or kept.e164 != phone.e164:
                capable = phone.text_capable
                if capable is None:
                    # As family_phone_set does: new digits in a field keep its setting.
                    capable = kept.text_capable if kept else phone_likely_text_capable(phone.e164)
                kept = state.phones[field_id] = PhoneState(phone.e164, capable, False)
                changes.append(
                    Change(
                        "number_put",
                        f"{label} {phone_display(phone.e164)}",
                        {
                            "field": field_id,
                            "number": phone.e164,
                            "text_capable": phone.text_capable,
                        },
                    )
                )
            elif phone.text_capable is not None and phone.text_capable != kept.text_capable:
                kept.text_capable = phone.text_capable
                kept.opt_in = kept.opt_in and phone.text_capable
                words = "can" if phone.text_capable else "cannot"
                changes.append(
                    Change(
                        "number_put",
                        f"{label} {words} receive texts",
                        {
                            "field": field_id,
                            "number": phone.e164,
                            "text_capable": phone.text_capable,
                        },
                    )
                )
            if phone.opt_in and self.config.consent_basis and not kept.opt_in:
                changes += self._opt_in(group, phone, kept, field_id, label)
        return changes

    def _opt_in(self, group, phone: PhoneIn, kept: PhoneState, field_id: int, label: str):
        shown = phone_display(phone.e164)
        if phone.e164 in self.stopped:
            why = (
                f"{shown} replied STOP, so it stays opted out: only the parent replying START "
                "turns texts back on."
            )
            group.warnings.append(Issue(phone.row, phone.column, why))
            return []
        if not kept.text_capable:
            why = f"{shown} is not marked text-capable, so it is not opted in."
            group.warnings.append(Issue(phone.row, phone.column, why))
            return []
        kept.opt_in = True
        return [Change("opt_in", f"opts {label} in to texts", {"field": field_id})]


@dataclass
class Preview:
    plans: list[GroupPlan]
    new_locations: list[str]
    new_programs: list[str]
    warnings: list[str]

    def rows(self) -> list[tuple[int, str, str, str]]:
        """(row, action, family name, message) for every row, in file order."""
        lines = [line for plan in self.plans for line in plan_lines(plan)]
        lines.sort(key=lambda line: line[0])
        return lines

    def counts(self) -> dict[str, int]:
        counts = {f"families_{a}": 0 for a in (CREATED, UPDATED, UNCHANGED, ERROR)}
        counts.update({f"rows_{a}": 0 for a in (CREATED, UPDATED, UNCHANGED, ERROR)})
        for plan in self.plans:
            counts[f"families_{plan.action}"] += 1
            counts[f"rows_{plan.action}"] += len(plan.group.rows)
        counts["opt_ins"] = sum(1 for p in self.plans for c in p.changes if c.kind == "opt_in")
        counts["rows"] = sum(counts[f"rows_{a}"] for a in (CREATED, UPDATED, UNCHANGED, ERROR))
        return counts

    def issues(self) -> tuple[list[str], list[str]]:
        errors = [i for p in self.plans for i in sorted(p.group.errors, key=_order)]
        warnings = [i for p in self.plans for i in sorted(p.group.warnings, key=_order)]
        return _compact(errors), self.warnings + _compact(warnings)

    def to_json(self) -> dict:
        errors, warnings = self.issues()
        return {
            "counts": self.counts(),
            "errors": errors,
            "warnings": warnings,
            "new_locations": self.new_locations,
            "new_programs": self.new_programs,
            "rows": [list(line) for line in self.rows()],
        }


def plan_lines(plan: GroupPlan) -> list[tuple[int, str, str, str]]:
    """The report's lines of one family: (row, action, family name, message)."""
    group = plan.group
    errors = defaultdict(list)
    for issue in group.errors:
        errors[issue.row].append(str(issue))
    lines = []
    for index, row in enumerate(group.rows):
        if plan.action == ERROR:
            message = "; ".join(errors.get(row, [])) or (
                f"not imported: the family's row {group.errors[0].row} has an error."
            )
        elif index == 0:
            message = plan.summary()
        else:
            message = f"part of the family on row {group.first_row}"
        lines.append((row, plan.action, group.name, message))
    return lines


def _compact(issues: list[Issue]) -> list[str]:
    """One line for the same words in the same column on many rows ("rows 2, 3 and 5, …")."""
    rows: dict[tuple[str, str], list[int]] = defaultdict(list)
    for issue in issues:
        rows[(issue.column, issue.message)].append(issue.row)
    lines = []
    for (column, message), numbers in sorted(rows.items(), key=lambda item: item[1][0]):
        if len(numbers) == 1:
            lines.append(str(Issue(numbers[0], column, message)))
            continue
        shown = ", ".join(str(n) for n in numbers[:10])
        more = f" and {len(numbers) - 10:,} more" if len(numbers) > 10 else ""
        where = f"rows {shown}{more}" + (f", {column}" if column else "")
        lines.append(f"{where}: {message}")
    return lines


def _order(issue: Issue) -> tuple[int, str]:
    return issue.row, issue.column


def groups_for(
    *,
    organization: Organization,
    parsed: ParsedFile,
    config: Config,
    progress: Callable[[int], None] | None = None,
) -> list[FamilyIn]:
    rows = rows_read(organization=organization, parsed=parsed, config=config, progress=progress)
    return groups_make(rows)


def preview_make(
    *,
    organization: Organization,
    parsed: ParsedFile,
    config: Config,
    progress: Callable[[int], None] | None = None,
) -> Preview:
    """The whole file planned against the directory as it is now; nothing is written."""
    groups = groups_for(organization=organization, parsed=parsed, config=config, progress=progress)
    planner = Planner(organization=organization, config=config)
    planner.load(groups)
    plans = [planner.plan(group) for group in groups]
    return Preview(plans, planner.new_locations, planner.new_programs, list(parsed.warnings))


def birth_dates_of(parsed: ParsedFile, columns: dict[int, str]) -> list[str]:
    indexes = [i for i, key in columns.items() if key == "birth_date"]
    return [cells_[i] for _, cells_ in parsed.rows for i in indexes if i < len(cells_)]
