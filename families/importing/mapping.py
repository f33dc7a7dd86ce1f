"""Which of our fields each column of a file fills: the fields there are (``targets_for``: the
directory's fields and, for each Family Template phone field, its number, whether it takes
texts and its texting opt-in), a guess from English headers ("Mother Cell", "Parent 1 Email",
"Child First Name", "DOB"…), and the mapping an organization used last, remembered by header.

A mapping is ``{column index: target key}``; a column mapped to nothing is left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from families.importing.models import ImportMapping
from families.models import PhoneField
from smsvoice.models import Organization

DATE_ORDERS = {"mdy": "Month first (12/31/2015)", "dmy": "Day first (31/12/2015)"}


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    group: str


FAMILY, GUARDIAN1, GUARDIAN2, STUDENT, PHONES = (
    "Family",
    "First guardian",
    "Second guardian",
    "Student",
    "Phone numbers",
)


def _guardian_targets(slot: int, group: str) -> list[Target]:
    which = "First" if slot == 1 else "Second"
    return [
        Target(f"g{slot}_first", f"{which} guardian: first name", group),
        Target(f"g{slot}_last", f"{which} guardian: last name", group),
        Target(f"g{slot}_name", f"{which} guardian: full name", group),
        Target(f"g{slot}_email", f"{which} guardian: email", group),
    ]


STATIC_TARGETS = [
    Target("family_external_id", "Family id (from your other system)", FAMILY),
    Target("family_key", "Family key (only groups rows)", FAMILY),
    Target("family_name", "Family name", FAMILY),
    Target("family_status", "Family status (active / inactive)", FAMILY),
    Target("location", "Location", FAMILY),
    *_guardian_targets(1, GUARDIAN1),
    *_guardian_targets(2, GUARDIAN2),
    Target("student_external_id", "Student id (from your other system)", STUDENT),
    Target("student_first", "Student: first name", STUDENT),
    Target("student_last", "Student: last name", STUDENT),
    Target("student_name", "Student: full name", STUDENT),
    Target("birth_date", "Student: date of birth", STUDENT),
    Target("program", "Student: program or class", STUDENT),
    Target("level", "Student: level", STUDENT),
    Target("student_status", "Student: status (active / waitlist / inactive)", STUDENT),
]
OPT_IN_ALL = Target("opt_in_all", "Texting opt-in, for every number of the row", PHONES)


def targets_for(organization: Organization) -> list[Target]:
    targets = list(STATIC_TARGETS)
    for field in PhoneField.objects.for_org(organization).order_by("order", "id"):
        targets += [
            Target(f"phone:{field.pk}", f"{field.label}: number", PHONES),
            Target(f"text_capable:{field.pk}", f"{field.label}: can receive texts", PHONES),
            Target(f"opt_in:{field.pk}", f"{field.label}: texting opt-in", PHONES),
        ]
    targets.append(OPT_IN_ALL)
    return targets


# --- Reading headers ---

_SYNONYMS = [
    (r"\be ?mail( address)?\b", "email"),
    (r"\b(mom|mum|mommy|mummy|mama)\b", "mother"),
    (r"\b(dad|daddy|papa)\b", "father"),
    (r"\b(cell ?phone|mobile phone|mobile|cellular)\b", "cell"),
    (r"\b(parent|guardian|contact|adult|caregiver|carer) ?(1|one)\b", "p1"),
    (r"\b(parent|guardian|contact|adult|caregiver|carer) ?(2|two)\b", "p2"),
    (r"\bprimary (parent|guardian|contact)\b", "p1"),
    (r"\bsecondary (parent|guardian|contact)\b", "p2"),
    (r"\b(child|kid|athlete|participant|swimmer|gymnast|dancer|camper|pupil)\b", "student"),
    (r"\b(dob|d o b|birthdate|birthday|date of birth|birth day)\b", "birth date"),
    (r"\b(surname|lname|last)\b( name)?", "last name"),
    (r"\b(given name|forename|fname|first)\b( name)?", "first name"),
    (r"\b(number|no|num|nr)\b", "number"),
]
_PHONE_WORDS = {"phone", "number", "tel", "telephone"}
_KIND_WORDS = {"cell", "phone", "home", "work"}
_GUARDIAN_PREFIXES = {
    "p1": 1,
    "mother": 1,
    "parent": 1,
    "guardian": 1,
    "contact": 1,
    "primary": 1,
    "p2": 2,
    "father": 2,
    "secondary": 2,
}
_GUARDIAN_PARTS = {
    "first name": "first",
    "last name": "last",
    "name": "name",
    "": "name",
    "full name": "name",
    "email": "email",
}
_FAMILY = {
    "family external id": "family_external_id",
    "family id": "family_external_id",
    "family number": "family_external_id",
    "account id": "family_external_id",
    "account number": "family_external_id",
    "household id": "family_external_id",
    "household number": "family_external_id",
    "external id": "family_external_id",
    "customer id": "family_external_id",
    "customer number": "family_external_id",
    "family key": "family_key",
    "household key": "family_key",
    "group id": "family_key",
    "household": "family_key",
    "family name": "family_name",
    "family": "family_name",
    "household name": "family_name",
    "account name": "family_name",
    "account": "family_name",
    "status": "family_status",
    "family status": "family_status",
    "account status": "family_status",
    "location": "location",
    "site": "location",
    "campus": "location",
    "branch": "location",
    "facility": "location",
    "studio": "location",
    "home location": "location",
    "student id": "student_external_id",
    "student number": "student_external_id",
    "birth date": "birth_date",
    "student birth date": "birth_date",
    "program": "program",
    "class": "program",
    "class name": "program",
    "course": "program",
    "program name": "program",
    "classes": "program",
    "enrolled class": "program",
    "student program": "program",
    "student class": "program",
    "enrollment": "program",
    "level": "level",
    "skill level": "level",
    "class level": "level",
    "rank": "level",
    "belt": "level",
    "student level": "level",
    "student status": "student_status",
    "enrollment status": "student_status",
    "student first name": "student_first",
    "student last name": "student_last",
    "student name": "student_name",
    "student": "student_name",
    "student full name": "student_name",
}
_TEXT_CAPABLE = (
    "text capable",
    "can text",
    "can receive texts",
    "sms capable",
    "textable",
    "texts capable",
    "can receive sms",
)
_OPT_IN = (
    "sms opt in",
    "text opt in",
    "texting opt in",
    "texts opt in",
    "opt in",
    "opted in",
    "sms consent",
    "text consent",
    "texting consent",
    "consent",
    "texts ok",
    "ok to text",
    "sms ok",
    "text ok",
    "sms allowed",
    "texts allowed",
)


def normalize(header: str) -> str:
    """Lower case, words only: how remembered mappings are keyed."""
    text = re.sub(r"['’]s\b", "", header.lower())  # "Dad's Cell" is the father's
    text = text.replace("#", " number ").replace("_", " ").replace("-", " ")
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def canonical(header: str) -> str:
    text = normalize(header)
    for pattern, replacement in _SYNONYMS:
        text = re.sub(pattern, replacement, text)
    return re.sub(r"\s+", " ", text).strip()


def _phone_tokens(text: str) -> frozenset[str]:
    tokens = set(text.split())
    stripped = tokens - _PHONE_WORDS
    return frozenset(stripped or tokens)


def _phone_match(text: str, fields: list[PhoneField]) -> PhoneField | None:
    tokens = _phone_tokens(text)
    for field in fields:
        if _phone_tokens(canonical(field.label)) == tokens:
            return field
    person = tokens - _KIND_WORDS
    if person:
        for field in fields:
            if _phone_tokens(canonical(field.label)) - _KIND_WORDS == person:
                return field
    return None


def _split_suffix(text: str, suffixes: tuple[str, ...]) -> str | None:
    for suffix in suffixes:
        if text == suffix:
            return ""
        if text.endswith(" " + suffix):
            return text[: -len(suffix) - 1]
    return None


def _guardian_target(text: str) -> str | None:
    first, _, rest = text.partition(" ")
    slot = _GUARDIAN_PREFIXES.get(first)
    if slot is None:
        return None
    part = _GUARDIAN_PARTS.get(rest)
    return f"g{slot}_{part}" if part else None


def guess_one(header: str, fields: list[PhoneField], *, students: bool) -> str | None:
    """The target a header most likely means, or None. ``students``: the file has student
    columns, so a bare "First Name" is the student's rather than a guardian's."""
    text = canonical(header)
    if not text:
        return None
    for suffixes, prefix in ((_TEXT_CAPABLE, "text_capable"), (_OPT_IN, "opt_in")):
        rest = _split_suffix(text, suffixes)
        if rest is not None:
            if rest == "" and prefix == "opt_in":
                return OPT_IN_ALL.key
            field = _phone_match(rest, fields) if rest else None
            return f"{prefix}:{field.pk}" if field else None
    if text in _FAMILY:
        return _FAMILY[text]
    guardian = _guardian_target(text)
    if guardian:
        return guardian
    if text in ("first name", "last name"):
        part = "first" if text == "first name" else "last"
        return f"student_{part}" if students else f"g1_{part}"
    if text in ("email", "email address", "primary email"):
        return "g1_email"
    field = _phone_match(text, fields)
    return f"phone:{field.pk}" if field else None


_STUDENT_HINTS = {
    "birth_date",
    "program",
    "level",
    "student_first",
    "student_last",
    "student_name",
    "student_external_id",
    "student_status",
}


def guess_mapping(
    headers: list[str], *, organization: Organization, remembered: dict[str, str] | None = None
) -> dict[int, str]:
    """Each column's target: the organization's remembered choice for that header first, then
    the guess; a target is given to the first column that claims it only."""
    fields = list(PhoneField.objects.for_org(organization).order_by("order", "id"))
    valid = {target.key for target in targets_for(organization)}
    remembered = remembered if remembered is not None else remembered_columns(organization)
    students = any(guess_one(h, fields, students=False) in _STUDENT_HINTS for h in headers)
    mapping: dict[int, str] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers):
        key = remembered.get(normalize(header))
        if key is not None and key in valid and key not in taken:
            mapping[index] = key
            taken.add(key)
    for index, header in enumerate(headers):
        if index in mapping or normalize(header) in remembered:
            continue
        key = guess_one(header, fields, students=students)
        if key and key in valid and key not in taken:
            mapping[index] = key
            taken.add(key)
    return mapping


# --- Remembered per organization ---


def remembered_columns(organization: Organization) -> dict[str, str]:
    saved = ImportMapping.objects.filter(organization=organization).first()
    return dict(saved.columns) if saved else {}


def remembered_date_order(organization: Organization) -> str:
    saved = ImportMapping.objects.filter(organization=organization).first()
    if saved and saved.date_order in DATE_ORDERS:
        return saved.date_order
    return "dmy" if organization.country == Organization.Country.AU else "mdy"


def mapping_remember(
    *, organization: Organization, headers: list[str], columns: dict[int, str], date_order: str
) -> ImportMapping:
    """Keep this file's choices, header by header, over the ones remembered before; a header
    the admin left unmapped is remembered as unmapped ("")."""
    saved, _ = ImportMapping.objects.get_or_create(organization=organization)
    merged = dict(saved.columns)
    for index, header in enumerate(headers):
        merged[normalize(header)] = columns.get(index, "")
    saved.columns, saved.date_order = merged, date_order
    saved.save(update_fields=["columns", "date_order", "updated_at"])
    return saved
