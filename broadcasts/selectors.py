"""Read paths for broadcasts: who a selection reaches, progress, the audit log."""

from __future__ import annotations

import gc
from collections import Counter, defaultdict
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from operator import attrgetter, itemgetter

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    FilteredRelation,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL

from broadcasts.models import AuditLogEntry, Broadcast, Recipient, SendingNumber
from broadcasts.sms import segments
from families.models import Family, Guardian, OptOut, PhoneNumber, Student
from families.selection import Selection, selection_queryset
from smsvoice.models import Organization

Reason = Recipient.Reason


@dataclass(slots=True)
class PlannedRecipient:
    e164: str
    owner_label: str
    family_id: int | None = None
    student_id: int | None = None
    staff_member_id: int | None = None
    reason: str = ""  # empty: it will be messaged
    # (first_name, family_name, student_first_name) for the merge fields asked for, "" for the
    # others; {organization} is the same for all. A tuple, so equal ones share a merged text.
    merge_names: tuple[str, str, str] = ("", "", "")
    shared_by: int = 1  # selected owners this one number reaches (it is messaged once)


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


def own_numbers(*, organization: Organization) -> frozenset[str]:
    """The numbers the organization sends from, which it must never text or call itself: every
    active sending number it has. (The other numbers of a Twilio Messaging Service's pool are
    kept at Twilio, not here; a pool recorded here would be added to this set.)"""
    active = SendingNumber.objects.for_org(organization).filter(status="active")
    return frozenset(active.values_list("e164", flat=True))


@dataclass(slots=True)
class _Row:
    """One appearance of a number in the selection, with what decides whether it is messaged
    and the names its merge fields are filled from."""

    planned: PlannedRecipient
    text_capable: bool
    opted_in: bool
    unsubscribed: bool
    first_name: str = ""
    family_name: str = ""
    students: tuple[str, ...] = ()
    reaches: int = 1  # selected owners behind it: a family number for two picked students is 2


def recipients_plan(
    *,
    organization: Organization,
    selection: Selection,
    channel: str = "sms",
    merge_fields: Collection[str] = (),
) -> RecipientPlan:
    """Every number of the selected owners, deduplicated by E.164, with what leaves one out.

    SMS needs a text-capable number that opted in and has not replied STOP; neither channel
    reaches the organization's own sending number. A number that is eligible through any
    owner is messaged once, through the first such owner; its other appearances are
    duplicates. ``merge_fields`` (names from ``MERGE_FIELDS``) are filled for each number
    from its own owners (see ``_merge``). A few queries of plain values whatever the size.
    """
    with gc_paused():
        return _plan(organization, selection, channel, frozenset(merge_fields))


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a plan is built: 100,000 small objects
    that live on would set off collection after collection (a third of the time), and none of
    them form cycles. Reference counting still frees everything as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _plan(
    organization: Organization,
    selection: Selection,
    channel: str,
    wanted: frozenset,
    *,
    general: bool = False,
) -> RecipientPlan:
    """The plan; families texted (the common case, and the largest) take ``_family_sms_plan``,
    the same plan in one pass, unless ``general`` asks for the path every kind takes."""
    owners = selection_queryset(organization=organization, selection=selection)
    if selection.kind == "families" and channel == "sms" and not general:
        return _family_sms_plan(organization, owners, wanted)
    rows, no_number = _numbers_of(organization, selection.kind, owners, wanted)
    own = own_numbers(organization=organization)
    if channel == "voice":
        called_off = _voice_opted_out(organization, owners, selection.kind)
        reasons = [_voice_reason(row, own, called_off) for row in rows]
    else:
        reasons = [_sms_reason(row, own) for row in rows]
    eligible, others = [], []
    for row, reason in zip(rows, reasons, strict=True):
        row.planned.reason = reason
        (others if reason else eligible).append(row)
    recipients, excluded, chosen = [], list(no_number), {}
    for row in eligible:  # first, so a number eligible through any owner is messaged
        same = chosen.get(row.planned.e164)
        if same is None:
            chosen[row.planned.e164] = [row]
            recipients.append(row.planned)
        else:
            same.append(row)
            row.planned.reason = Reason.DUPLICATE
            excluded.append(row.planned)
    for row in others:
        if row.planned.e164 in chosen:
            row.planned.reason = Reason.DUPLICATE
        else:
            chosen[row.planned.e164] = [row]
        excluded.append(row.planned)
    wants = ("first_name" in wanted, "family_name" in wanted, "student_first_name" in wanted)
    for planned in recipients:
        owners_of = chosen[planned.e164]
        if any(wants):
            _merge(planned, owners_of, wants)
        else:
            planned.shared_by = (
                owners_of[0].reaches
                if len(owners_of) == 1
                else sum(row.reaches for row in owners_of)
            )
    return RecipientPlan(recipients=recipients, excluded=excluded)


def _sms_reason(row: _Row, own: frozenset[str]) -> str:
    if row.planned.e164 in own:
        return Reason.OWN_NUMBER
    if row.unsubscribed:
        return Reason.UNSUBSCRIBED
    if not row.text_capable:
        return Reason.NOT_TEXT_CAPABLE
    if not row.opted_in:
        return Reason.NOT_OPTED_IN
    return ""


def _voice_opted_out(organization: Organization, owners: QuerySet, kind: str) -> set[str]:
    from broadcasts.models import VoiceOptOut

    found = VoiceOptOut.objects.for_org(organization).filter(
        e164__in=_numbers_query(organization, kind, owners).values("e164")
    )
    return set(found.values_list("e164", flat=True))


def _voice_reason(row: _Row, own: frozenset[str], called_off: set[str]) -> str:
    # Voice needs no opt-in and reaches landlines; a number that pressed 9 is left out.
    if row.planned.e164 in own:
        return Reason.OWN_NUMBER
    return Reason.VOICE_OPTED_OUT if row.planned.e164 in called_off else ""


def _merge(planned: PlannedRecipient, rows: list[_Row], wants: tuple[bool, bool, bool]) -> None:
    """Fill the merge names of a number (those ``wants`` asks for) from its owners in this
    selection.

    One owner: their own names. A number several owners share (two families, a parent who
    is also staff, two students of one family) is messaged once, so it is greeted by all of
    them, joined: "Maria and David", "Kai and Sofia".
    """
    first, family, students = wants
    if len(rows) == 1:  # nearly every number: no joining to do
        row = rows[0]
        planned.shared_by = row.reaches
        planned.merge_names = (
            row.first_name if first else "",
            row.family_name if family else "",
            _and_join(row.students) if students else "",
        )
        return
    planned.shared_by = sum(row.reaches for row in rows)
    planned.merge_names = (
        _and_join(_distinct(r.first_name for r in rows)) if first else "",
        _and_join(_distinct(r.family_name for r in rows)) if family else "",
        _and_join(_distinct(n for r in rows for n in r.students)) if students else "",
    )


def _distinct(names) -> list[str]:
    return [name for name in dict.fromkeys(names) if name]


def _numbers_query(organization: Organization, kind: str, owners: QuerySet) -> QuerySet:
    numbers = PhoneNumber.objects.for_org(organization)
    if kind == "staff":
        return numbers.filter(staff_member__in=owners.values("pk"))
    if kind == "students":
        return numbers.filter(family__in=owners.values("family_id"))
    return numbers.filter(family__in=owners.values("pk"))


def _numbers_of(organization: Organization, kind: str, owners: QuerySet, wanted: frozenset):
    """(each number's appearances as _Rows, owners without any number) in a few queries."""
    if kind == "families":
        return _family_numbers(organization, owners, wanted)
    unsubscribed = Exists(OptOut.objects.filter(organization=organization, e164=OuterRef("e164")))
    numbers = _numbers_query(organization, kind, owners).annotate(unsubscribed=unsubscribed)
    if kind == "staff":
        return _staff_numbers(numbers, owners)
    return _student_numbers(organization, numbers, owners, wanted)


_STUDENT_NAMES = f'"{Family._meta.db_table}"."active_student_names"'
_JOINED_STUDENT_NAMES = (
    f"CASE WHEN cardinality({_STUDENT_NAMES}) > 1 "
    f"THEN array_to_string({_STUDENT_NAMES}[1:cardinality({_STUDENT_NAMES}) - 1], ', ') "
    f"|| ' and ' || {_STUDENT_NAMES}[cardinality({_STUDENT_NAMES})] "
    f"ELSE {_STUDENT_NAMES}[1] END"
)


def _family_rows(
    organization: Organization, families: QuerySet, greet: bool, students: bool = False
) -> list[tuple]:
    """One query: every selected family joined to its numbers (a family without any comes
    back once, with no number), as (name, family id, field order, number id, e164,
    text_capable, sms_opt_in, field label, guardian's first name, students' first names), in
    the plan's order: by family name, family, field order, number. Sorted here, not in SQL:
    Python orders 75,000 rows by name faster than the database sorts them under its collation,
    spilling to disk (``_sort_by_name``). The rows sort as they are: no two agree on (name,
    family, order, number), and the NULL order and number of a family without numbers are never
    compared, as that family has one row (a family number always has a field:
    ``phone_has_one_owner``). The guardian's name (a join over the guardians) is read only for
    {first_name}.

    ``students`` (PostgreSQL only) also reads the family's active students' first names, those
    ``_active_students`` gives it, joined as ``_and_join`` joins them (None for none), from the
    column PostgreSQL keeps on the family row (families migration 0009, triggers on the
    students): reading 75,000 students and grouping them took 0.2 s. Without it the last value
    is None.

    The numbers and guardians joined are the organization's own (the join's condition, not only
    the families'): their tables hold every organization's rows, and the database then reads
    this organization's by index instead of scanning all of them (with four other
    organizations of the same size beside it, 244 ms → 122 ms in the database)."""
    rows = _own_numbers_joined(organization, families).annotate(
        named=FilteredRelation(
            "numbers__guardian", condition=Q(numbers__guardian__organization=organization)
        ),
    )
    guardian = "named__first_name" if greet else Value(None, output_field=CharField())
    # Not a model field (PostgreSQL's triggers keep it), so named in SQL: a constant. Joined
    # there as _and_join joins them ("Kai, Leo and Sofia"), so the driver makes one string a
    # family, not a list (and Python does not join 50,000 of them).
    names = (
        RawSQL(_JOINED_STUDENT_NAMES, (), output_field=CharField())  # noqa: S611
        if students
        else Value(None, output_field=CharField())
    )
    fetched = list(
        rows.values_list(
            "name",
            "pk",
            "numbers__field__order",
            "numbers__id",
            "numbers__e164",
            "numbers__text_capable",
            "numbers__sms_opt_in",
            "numbers__field__label",
            guardian,
            names,
        ).order_by()
    )
    _sort_by_name(fetched)
    return fetched


def _own_numbers_joined(organization: Organization, families: QuerySet) -> QuerySet:
    """The families with their numbers as ``numbers``: a family without any comes once, with
    none; only the organization's own numbers are joined (see ``_family_rows``)."""
    return families.annotate(
        numbers=FilteredRelation(
            "phone_numbers", condition=Q(phone_numbers__organization=organization)
        )
    )


def _sort_by_name(rows: list[tuple]) -> None:
    """Sort rows whose first value is a name as the tuples themselves sort, faster: by the name
    alone first (comparing strings, not tuples: 0.09 s where the tuples took 0.21 s for 75,000
    rows with a school's variety of names), then each run of namesakes as tuples."""
    rows.sort(key=itemgetter(0))
    start, name = 0, rows[0][0] if rows else None
    for i in range(1, len(rows)):
        if rows[i][0] != name:
            if i - start > 1:
                rows[start:i] = sorted(rows[start:i])
            start, name = i, rows[i][0]
    if len(rows) - start > 1:
        rows[start:] = sorted(rows[start:])


def _family_numbers(organization: Organization, families: QuerySet, wanted: frozenset):
    """Every number of the selected families as _Rows (``_family_rows``), and the families
    without any. The general path: its students' names are read from the students
    (``_active_students``), which the fast path's, read from the family rows on PostgreSQL,
    are tested against."""
    greet = "first_name" in wanted
    fetched = _family_rows(organization, families, greet)
    stopped = _stopped(organization)
    sole = _sole_guardians(organization, families) if greet else {}
    students = _active_students(organization, families) if "student_first_name" in wanted else {}
    rows, no_number = [], []
    for fname, fid, _order, _id, e164, capable, opted, label, guardian, _names in fetched:
        if e164 is None:
            no_number.append(
                PlannedRecipient(e164="", family_id=fid, owner_label=fname, reason=Reason.NO_NUMBER)
            )
            continue
        planned = PlannedRecipient(e164=e164, family_id=fid, owner_label=f"{fname} — {label}")
        first = _greeted(guardian, sole.get(fid), fname) if greet else ""
        unsub = e164 in stopped
        rows.append(_Row(planned, capable, opted, unsub, first, fname, students.get(fid, ())))
    return rows, no_number


def _family_sms_plan(
    organization: Organization, families: QuerySet, wanted: frozenset
) -> RecipientPlan:
    """The plan of ``_plan``'s general path for families texted, in one pass over the rows of
    ``_family_rows``: each appearance becomes its PlannedRecipient and nothing else (no _Row,
    no list of owners per number; only the few numbers several families share keep theirs, to
    join their names). On PostgreSQL {student_first_name} comes with the rows, joined (their
    last value, used as it is: a dict made of them took 0.07 s of the 0.2 s saved), and only
    the families that share a number have their students read apart; elsewhere all come from
    ``_active_students``. Same recipients, reasons, names and order as the general path
    (tests/broadcasts/test_plan_fast_path.py compares the two on generated directories)."""
    greet = "first_name" in wanted
    wants = (greet, "family_name" in wanted, "student_first_name" in wanted)
    from_column = wants[2] and connection.vendor == "postgresql"
    fetched = _family_rows(organization, families, greet, from_column)
    stopped = _stopped(organization)
    own = own_numbers(organization=organization)
    sole = _sole_guardians(organization, families) if greet else {}
    # On PostgreSQL the rows carry the names, and this stays empty.
    students = _active_students(organization, families) if wants[2] and not from_column else {}
    merging = any(wants)
    new = PlannedRecipient
    recipients, duplicates, others, no_number = [], [], [], []
    first_row: dict[str, tuple] = {}  # e164 -> the row it is messaged through
    shared: dict[str, list[tuple]] = {}  # e164 -> every eligible row, when more than one
    for row in fetched:
        fname, fid, _order, _id, e164, capable, opted, label, guardian, names = row
        if e164 is None:
            no_number.append(new("", fname, fid, reason=Reason.NO_NUMBER))
        elif e164 in own:
            others.append((row, Reason.OWN_NUMBER))
        elif e164 in stopped:
            others.append((row, Reason.UNSUBSCRIBED))
        elif not capable:
            others.append((row, Reason.NOT_TEXT_CAPABLE))
        elif not opted:
            others.append((row, Reason.NOT_OPTED_IN))
        elif e164 in first_row:
            duplicates.append(new(e164, f"{fname} — {label}", fid, reason=Reason.DUPLICATE))
            owners_of = shared.get(e164)
            if owners_of is None:
                shared[e164] = [first_row[e164], row]
            else:
                owners_of.append(row)
        else:
            first_row[e164] = row
            planned = new(e164, f"{fname} — {label}", fid)
            if merging:
                planned.merge_names = (
                    (guardian or sole.get(fid) or f"{fname} family") if greet else "",
                    fname if wants[1] else "",
                    ((names or "") if from_column else _and_join(students.get(fid, ())))
                    if wants[2]
                    else "",
                )
            recipients.append(planned)
    if shared:
        if from_column:  # the rows hold the names joined; the shared numbers' need them apart
            sharing = {row[1] for rows in shared.values() for row in rows}
            students = _active_students(organization, Family.objects.filter(pk__in=sharing))
        for planned in recipients:
            owners_of = shared.get(planned.e164)
            if owners_of is not None:
                _merge(planned, [_family_row(r, sole, students, greet) for r in owners_of], wants)
    excluded = no_number + duplicates
    for row, reason in others:
        e164 = row[4]
        if e164 in first_row:
            reason = Reason.DUPLICATE
        else:
            first_row[e164] = row
        excluded.append(new(e164, f"{row[0]} — {row[7]}", row[1], reason=reason))
    return RecipientPlan(recipients=recipients, excluded=excluded)


@dataclass
class CountedGroup:
    """Recipients of one count: every one's merged text has the same parts, units and length
    as that of the group's first, whose names the group keeps (a recipient's place in the
    plan's order is ``at``: only compared)."""

    first: PlannedRecipient  # the group's first recipient in the plan's order, names filled
    at: str  # as _PLAN_KEY
    recipients: int


@dataclass
class PlanCounts:
    """What a preview needs of a plan, without the plan: how many numbers are messaged, how
    many appearances are left out and why; the messaged numbers in groups that count alike
    (``groups``: each recipient in one, the first of the plan among the groups' firsts); and
    ``firsts``, the first recipient of each of the first distinct merge names in the plan's
    order, the shared numbers among them (all of them when ``firsts_complete``)."""

    messages: int
    excluded_by_reason: dict[str, int]
    groups: list[CountedGroup]
    firsts: list[CountedGroup]
    firsts_complete: bool


# Recipients read in the plan's order for the preview's samples: the samples are the first
# texts that differ, and names rarely repeat, so a few serve (else: the plan).
FIRSTS = 40


def recipients_counted(
    *, organization: Organization, selection: Selection, merge_fields: Collection[str] = ()
) -> PlanCounts | None:
    """``recipients_plan``'s counts for families texted, counted by PostgreSQL in one
    statement: of the 75,000 rows a school's 50,000 families have, only a few hundred groups
    come to Python (fetching the rows and walking them was most of a preview). None where it
    does not apply (other kinds, other databases): the caller then makes the plan.

    The same rules as ``_family_sms_plan``, in SQL: each appearance's reason in its order
    (no number, the own number, STOP, not text-capable, not opted in); per number, messaged
    once if any appearance may be (the others are duplicates), through its first such
    appearance in the plan's order (family name by code point, as Python compares strings:
    ``COLLATE "C"``, then family, field order and number); a number no appearance may be
    messaged at is left out once, for the reason of its first appearance, and its other
    appearances are duplicates.

    The messaged numbers come grouped by what their merged texts count (``merge_fields``:
    names from ``MERGE_FIELDS``, filled as ``_family_sms_plan`` fills them): names made only
    of ``segments.PLAIN`` characters count as their lengths whatever their letters, so those
    numbers are grouped by the lengths of their names (a few hundred groups for 50,000
    families); numbers with other names by the names themselves; a number several families
    share, whose names are joined from all of theirs (``_merge``), is a group of its own, its
    names taken from the plan of those families alone. Tested against the plan on generated
    directories (tests/broadcasts/test_preview_counted.py)."""
    if selection.kind != "families" or connection.vendor != "postgresql":
        return None
    wanted = frozenset(merge_fields)
    families = selection_queryset(organization=organization, selection=selection)
    own = own_numbers(organization=organization)
    # IN, not EXISTS: PostgreSQL hashes the STOP list once instead of a look-up per row.
    stopped = Q(numbers__e164__in=OptOut.objects.for_org(organization).values("e164"))
    reasons = [When(numbers__e164__isnull=True, then=Value(Reason.NO_NUMBER))]
    if own:
        reasons.append(When(numbers__e164__in=own, then=Value(Reason.OWN_NUMBER)))
    reasons += [
        When(stopped, then=Value(Reason.UNSUBSCRIBED)),
        When(numbers__text_capable=False, then=Value(Reason.NOT_TEXT_CAPABLE)),
        When(numbers__sms_opt_in=False, then=Value(Reason.NOT_OPTED_IN)),
    ]
    greet = "first_name" in wanted
    nothing = Value(None, output_field=CharField())
    rows = (
        _own_numbers_joined(organization, families)
        .annotate(
            named=FilteredRelation(
                "numbers__guardian", condition=Q(numbers__guardian__organization=organization)
            ),
        )
        .annotate(
            r_name=F("name"),
            r_family=F("pk"),
            r_order=F("numbers__field__order"),
            r_number=F("numbers__id"),
            r_e164=F("numbers__e164"),
            r_label=F("numbers__field__label"),
            r_reason=Case(*reasons, default=Value(""), output_field=CharField()),
            r_guardian=F("named__first_name") if greet else nothing,
            r_students=(
                RawSQL(_JOINED_STUDENT_NAMES, (), output_field=CharField())  # noqa: S611
                if "student_first_name" in wanted
                else nothing
            ),
        )
        .values(*_COUNTED_COLUMNS)
        .order_by()
    )
    try:
        sql, params = rows.query.sql_with_params()
        sole_sql, sole_params = _sole_guardians_query(
            organization, families
        ).query.sql_with_params()
    except EmptyResultSet:  # nothing can match (no family ticked): nobody is selected
        return PlanCounts(0, {}, [], [], True)
    names = [
        # Who {first_name} greets (``_greeted``): the number's guardian, else the family's only
        # guardian, else the household.
        "COALESCE(NULLIF(g.guardian, ''), NULLIF(sole.first, ''), g.name || ' family')"
        if greet
        else "''",
        "g.name" if "family_name" in wanted else "''",
        "COALESCE(g.students, '')" if "student_first_name" in wanted else "''",
    ]
    statement = _COUNTED.format(
        rows=sql,
        sole=sole_sql if greet else "SELECT NULL::int, NULL::text WHERE false",
        key=_PLAN_KEY,
        first=names[0],
        family=names[1],
        students=names[2],
        firsts=FIRSTS,
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # The numbers' aggregates (some 46 MB for 75,000 numbers) are kept in memory: at 32 MB
        # they spilled to disk.
        cursor.execute("SET LOCAL work_mem = '96MB'")
        # Hash joins, never nested loops, whatever the statistics say: rows just imported
        # are not analyzed yet, and a nested loop over two estimates of "1 row" that are
        # 50,000 each took minutes.
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute(statement, (*params, *(sole_params if greet else ()), segments.PLAIN_TEXT))
        no_number, kinds, mixed, sizes, grouped, head = cursor.fetchone()
    excluded = Counter({Reason.NO_NUMBER: no_number or 0})
    messages = 0
    for kind, numbers, appearances in kinds or ():
        excluded[Reason.DUPLICATE] += appearances - numbers  # each number is kept once
        if kind == "":
            messages = numbers
        elif kind is not None:
            excluded[kind] += numbers
    excluded.update(mixed or {})
    size_of = {at: recipients for recipients, at in sizes or ()}
    groups = sorted((_counted_group(row) for row in grouped or ()), key=attrgetter("at"))
    for group in groups:
        group.recipients = size_of[group.at]
    read = [_counted_group(row) for row in head or ()]
    complete = len(read) < FIRSTS
    # Of the first recipients read, each name's first: the first names of the whole plan, up
    # to the last one read (a name first seen later comes after all of these).
    first_of: dict[tuple, CountedGroup] = {}
    for group in read:
        first_of.setdefault(group.first.merge_names, group)
    shared = [group for group in groups if group.first.shared_by > 1]
    if shared:  # taken from the plan of the families that share them: names joined
        numbers = PhoneNumber.objects.for_org(organization)
        sharing = numbers.filter(e164__in=[group.first.e164 for group in shared])
        plan = _family_sms_plan(
            organization, families.filter(pk__in=sharing.values("family_id")), wanted
        )
        planned = {recipient.e164: recipient for recipient in plan.recipients}
        for group in shared:
            group.first = planned[group.first.e164]
    if not complete:  # a shared number later than the last first read may come after others
        shared = [group for group in shared if group.at < read[-1].at]
    firsts = sorted([*first_of.values(), *shared], key=attrgetter("at"))
    return PlanCounts(
        messages=messages,
        excluded_by_reason={reason: n for reason, n in excluded.items() if n},
        groups=groups,
        firsts=firsts,
        firsts_complete=complete,
    )


_COUNTED_COLUMNS = (
    "r_name",
    "r_family",
    "r_order",
    "r_number",
    "r_e164",
    "r_label",
    "r_reason",
    "r_guardian",
    "r_students",
)


def _counted_group(row: list) -> CountedGroup:
    recipients, at, e164, name, label, fid, by, first, family, students = row
    planned = PlannedRecipient(
        e164=e164,
        owner_label=f"{name} — {label}",
        family_id=fid,
        merge_names=(first, family, students),
        shared_by=by,
    )
    return CountedGroup(first=planned, at=at, recipients=recipients)


# The plan's order (family name by code point, as Python compares strings, then family,
# field order and number) as one value that min() takes, in hex: the name's UTF-8 bytes
# (which order as its code points; none is 0, so the 0 after it puts "West" before "Westa"),
# then the family, the field's order and the number as big-endian integers (none negative).
_PLAN_KEY = (
    "encode(convert_to(r_name, 'UTF8') || '\\x00'::bytea || int8send(r_family::int8) "
    "|| int4send(r_order::int4) || int8send(r_number::int8), 'hex') COLLATE \"C\""
)
# r: every appearance with its reason; d: the numbers that appear more than once;
# g, per number: its appearances, how many may be messaged, the least and greatest reason; of
# those that may be messaged the first's place in the plan's order (k, as _PLAN_KEY) and, for
# a number only one may be messaged at, its values; of the others the first, with its reason
# (kr, needed only where the reasons differ). A number that appears once is its appearance:
# only those of d are aggregated (aggregating 75,000 numbers of one appearance each took
# 0.1 s of a 0.45 s statement);
# m: the messaged numbers with their names (sole: the families of one guardian, for
# {first_name}) and whether those are all PLAIN; grouped: the numbers only one appearance may
# be messaged at, of plain names by their names' lengths, of others by their names, and each
# shared number alone.
# Selected: the appearances without a number; the counts per kind of number (messaged: '',
# left out for one reason: that reason, left out for reasons that differ: NULL, counted by
# its first appearance in ``mixed``); the groups as their first recipients; the first
# recipients that are not shared.
_COUNTED = (
    "WITH r AS MATERIALIZED ({rows}), "
    "d AS MATERIALIZED (SELECT r_e164 FROM r WHERE r_e164 IS NOT NULL GROUP BY r_e164 "
    "HAVING count(*) > 1), "
    "g AS MATERIALIZED (SELECT r_e164, count(*) AS n, "
    "count(*) FILTER (WHERE r_reason = '') AS eligible, min(r_reason) AS lo, "
    "max(r_reason) AS hi, "
    "min({key}) FILTER (WHERE r_reason = '') AS k, "
    "min({key} || ' ' || r_reason) FILTER (WHERE r_reason <> '') AS kr, "
    "min(r_name) FILTER (WHERE r_reason = '') AS name, "
    "min(r_label) FILTER (WHERE r_reason = '') AS label, "
    "min(r_family) FILTER (WHERE r_reason = '') AS family, "
    "min(r_guardian) FILTER (WHERE r_reason = '') AS guardian, "
    "min(r_students) FILTER (WHERE r_reason = '') AS students "
    "FROM r WHERE r_e164 IN (SELECT r_e164 FROM d) GROUP BY r_e164 UNION ALL "
    "SELECT r_e164, 1, (r_reason = '')::int, r_reason, r_reason, "
    "CASE WHEN r_reason = '' THEN {key} END, "
    "NULL, r_name, r_label, r_family, r_guardian, r_students "
    "FROM r WHERE r_e164 IS NOT NULL AND r_e164 NOT IN (SELECT r_e164 FROM d)), "
    "sole (family, first) AS MATERIALIZED ({sole}), "
    "m AS MATERIALIZED (SELECT x.*, (n_first || n_family || n_students) ~ %s AS plain FROM "
    "(SELECT g.k, g.r_e164, g.name, g.label, g.family, g.eligible, {first} AS n_first, "
    "{family} AS n_family, {students} AS n_students FROM g "
    "LEFT JOIN sole ON sole.family = g.family WHERE g.eligible > 0) x), "
    "grouped AS (SELECT count(*) AS c, min(k) AS k FROM m WHERE eligible = 1 AND NOT plain "
    "GROUP BY n_first, n_family, n_students UNION ALL "
    "SELECT count(*), min(k) FROM m WHERE eligible = 1 AND plain "
    "GROUP BY length(n_first), length(n_family), length(n_students) UNION ALL "
    "SELECT 1, k FROM m WHERE eligible > 1) "
    "SELECT "
    "(SELECT count(*) FROM r WHERE r_e164 IS NULL), "
    "(SELECT json_agg(json_build_array(kind, numbers, appearances)) FROM "
    "(SELECT CASE WHEN eligible > 0 THEN '' WHEN lo = hi THEN lo END AS kind, "
    "count(*) AS numbers, sum(n) AS appearances FROM g GROUP BY 1) kinds), "
    "(SELECT json_object_agg(reason, c) FROM (SELECT split_part(kr, ' ', 2) AS reason, "
    "count(*) AS c FROM g WHERE eligible = 0 AND lo <> hi "
    "GROUP BY 1) mixed), "
    "(SELECT json_agg(json_build_array(c, k)) FROM grouped), "
    "(SELECT json_agg(json_build_array(1, k, r_e164, name, label, family, eligible, n_first, "
    "n_family, n_students)) FROM m WHERE k IN (SELECT k FROM grouped)), "
    "(SELECT json_agg(json_build_array(1, k, r_e164, name, label, family, eligible, n_first, "
    "n_family, n_students) ORDER BY k) FROM (SELECT * FROM m WHERE eligible = 1 "
    "ORDER BY k LIMIT {firsts}) x)"
)


def _family_row(row: tuple, sole: dict, students: dict, greet: bool) -> _Row:
    """A row of ``_family_rows`` as the _Row ``_merge`` joins names from (its students' names
    apart, from ``students``)."""
    fname, fid, _order, _id, e164, capable, opted, label, guardian, _joined = row
    first = _greeted(guardian, sole.get(fid), fname) if greet else ""
    planned = PlannedRecipient(e164=e164, family_id=fid, owner_label=f"{fname} — {label}")
    return _Row(planned, capable, opted, False, first, fname, students.get(fid, ()))


def _stopped(organization: Organization) -> set[str]:
    """The organization's numbers that replied STOP, in one query: far fewer than the numbers
    of a large selection, and cheaper than looking each of those up."""
    return set(OptOut.objects.for_org(organization).values_list("e164", flat=True))


def _greeted(guardian: str | None, sole: str | None, family_name: str) -> str:
    """Who {first_name} greets on a family number: the guardian the number belongs to; for a
    number that names nobody, the family's only guardian; else the household ("West family")."""
    return guardian or sole or f"{family_name} family"


def _sole_guardians(organization: Organization, families: QuerySet) -> dict[int, str]:
    """The first name of the only guardian of each family that has one guardian and a number
    that names nobody (only those numbers need it). Read from the organization's own rows,
    by index, as in ``_family_rows``."""
    return dict(_sole_guardians_query(organization, families))


def _sole_guardians_query(organization: Organization, families: QuerySet) -> QuerySet:
    """``_sole_guardians`` as a query of (family id, first name)."""
    unnamed = PhoneNumber.objects.for_org(organization).filter(
        family__in=families.values("pk"), guardian__isnull=True
    )
    return (
        Guardian.objects.for_org(organization)
        .filter(family__in=unnamed.values("family_id"))
        .values("family_id")
        .annotate(n=Count("id"), first=Min("first_name"))
        .filter(n=1)
        .values_list("family_id", "first")
    )


def _active_students(organization: Organization, families: QuerySet) -> dict[int, tuple[str, ...]]:
    """{student_first_name} of a family picked as a family: its students who still come (the
    organization's own rows, by index, as in ``_family_rows``). The general path's and
    SQLite's: PostgreSQL keeps the same names on the family row for the fast one."""
    found: dict[int, list[str]] = defaultdict(list)
    for fid, first in (
        Student.objects.for_org(organization)
        .filter(family__in=families.values("pk"))
        .exclude(status="inactive")
        .order_by("family_id", "first_name", "id")
        .values_list("family_id", "first_name")
    ):
        found[fid].append(first)
    return {fid: tuple(names) for fid, names in found.items()}


def _staff_numbers(numbers: QuerySet, owners: QuerySet):
    values = numbers.values_list(
        "e164",
        "text_capable",
        "sms_opt_in",
        "unsubscribed",
        "staff_member_id",
        "staff_member__first_name",
        "staff_member__last_name",
        "label",
    ).order_by("staff_member__last_name", "staff_member_id", "id")
    rows = [
        _Row(
            PlannedRecipient(
                e164=e164, staff_member_id=sid, owner_label=f"{first} {last} — {label or 'phone'}"
            ),
            capable,
            opted,
            unsub,
            first_name=first,
            family_name=last,
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


def _student_numbers(
    organization: Organization, numbers: QuerySet, students: QuerySet, wanted: frozenset
):
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
    values = numbers.values_list(
        "e164",
        "text_capable",
        "sms_opt_in",
        "unsubscribed",
        "family_id",
        "field__label",
        "guardian__first_name",
    ).order_by("family__name", "family_id", "field__order", "id")
    families = Family.objects.filter(pk__in=students.values("family_id"))
    sole = _sole_guardians(organization, families) if "first_name" in wanted else {}
    rows, families_with_numbers = [], set()
    for e164, capable, opted, unsub, fid, label, guardian in values:
        families_with_numbers.add(fid)
        first_student = by_family[fid][0]
        names = tuple(s[1] for s in by_family[fid])
        rows.append(
            _Row(
                PlannedRecipient(
                    e164=e164,
                    family_id=fid,
                    student_id=first_student[0],
                    owner_label=f"{first_student[4]} — {label} (for {', '.join(names)})",
                ),
                capable,
                opted,
                unsub,
                first_name=_greeted(guardian, sole.get(fid), first_student[4]),
                family_name=first_student[4],
                students=names,
                reaches=len(names),
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


def _and_join(names: Sequence[str]) -> str:
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
