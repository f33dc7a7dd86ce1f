"""Upserts of the people directory from another system: the write API and the CSV import both
come through here, so a row means the same and is refused with the same words either way.

Each ``*_clean`` function checks raw values (strings as typed or sent, or Python values) with
the very forms the pages use (``families.forms``, ``families.phones``) and returns the cleaned
values and the errors, ``{field: [message, ...]}``, without writing anything: a preview calls
these. Each ``*_upsert`` function cleans, then creates or updates the row found by its
``external_id`` inside the organization, and raises ``ValidationError({field: [...]})`` when the
values cannot be used (nothing written). Keys left out of ``data`` keep the row's values, so a
payload sent twice changes nothing the second time (``Upserted.changed`` is False).

Texting consent never turns on by itself: ``texts=True`` on a number needs a ``consent_basis``
(how the customer gave consent, in words), recorded as a ConsentEvent with the caller's source
(``api`` or ``import``), the basis as its note, and who did it.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from families.forms import FamilyForm, GuardianForm, PhoneSetForm, StudentForm
from families.models import (
    Family,
    Guardian,
    Location,
    PhoneField,
    PhoneNumber,
    Program,
    Student,
)
from families.phones import phone_parse
from families.services import consent_record, family_phone_set
from smsvoice.models import Organization

Errors = dict[str, list[str]]

EXTERNAL_ID_MAX = Family._meta.get_field("external_id").max_length
CONSENT_BASIS_NEEDED = (
    "Texts can be turned on only with a consent basis: say how this customer gave consent to "
    "receive texts (e.g. written consent on the enrollment form, dated …)."
)


@dataclass(frozen=True)
class Cleaned:
    """Values ready to write (only the keys that were given) or the reasons they are not."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: Errors = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Upserted:
    row: models.Model
    created: bool
    changed: bool

    @property
    def result(self) -> str:
        """created, updated or unchanged: what a sync report says of the row."""
        if self.created:
            return "created"
        return "updated" if self.changed else "unchanged"


# --- Cleaning with the forms ---


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _form_clean(form_class: type[forms.Form], data: Mapping[str, Any], names: list[str], **kw):
    """Run a page's form over the given keys only; the keys left out are filled with a valid
    placeholder so that only what was given is judged."""
    given = {name: data[name] for name in names if name in data}
    form = form_class(data={**_PLACEHOLDERS, **given}, **kw)
    form.is_valid()
    errors = {k: list(v) for k, v in form.errors.items() if k in given}
    values = {k: form.cleaned_data[k] for k in given if k in form.cleaned_data and k not in errors}
    return values, errors


_PLACEHOLDERS = {
    "name": "x",
    "first_name": "x",
    "status": "active",
    "number": "",
}


def external_id_clean(raw: Any) -> tuple[str, list[str]]:
    """An external id as another system writes it: trimmed, 1 to 100 printable characters."""
    value = _text(raw).strip()
    if not value:
        return "", ["Give an external id."]
    if len(value) > EXTERNAL_ID_MAX:
        return "", [f"Keep the external id to {EXTERNAL_ID_MAX} characters or fewer."]
    if not value.isprintable():
        return "", ["The external id cannot hold control characters."]
    return value, []


def _name_clean(raw: Any, model: type[Location] | type[Program]) -> tuple[str, list[str]]:
    limit = model._meta.get_field("name").max_length
    try:
        return forms.CharField(max_length=limit, required=False).clean(_text(raw)), []
    except ValidationError as exc:
        return "", exc.messages


def _external_id_in(data: Mapping[str, Any], values: dict, errors: Errors) -> None:
    if "external_id" in data:
        if _text(data["external_id"]).strip():
            eid, problems = external_id_clean(data["external_id"])
            if problems:
                errors["external_id"] = problems
            else:
                values["external_id"] = eid
        else:
            values["external_id"] = ""


def family_clean(*, organization: Organization, data: Mapping[str, Any]) -> Cleaned:
    """Keys: name, status, location (a name: made when new), notes, external_id."""
    given = {k: _text(v) for k, v in data.items() if k in ("name", "status", "notes")}
    values, errors = _form_clean(
        FamilyForm, given, ["name", "status", "notes"], organization=organization
    )
    if "location" in data:
        values["location"], problems = _name_clean(data["location"], Location)
        if problems:
            errors["location"] = problems
            values.pop("location")
    _external_id_in(data, values, errors)
    return Cleaned(values, errors)


def guardian_clean(*, data: Mapping[str, Any]) -> Cleaned:
    """Keys: first_name, last_name, email, external_id."""
    given = {k: _text(v) for k, v in data.items() if k in ("first_name", "last_name", "email")}
    values, errors = _form_clean(GuardianForm, given, ["first_name", "last_name", "email"])
    _external_id_in(data, values, errors)
    return Cleaned(values, errors)


def student_clean(*, organization: Organization, data: Mapping[str, Any]) -> Cleaned:
    """Keys: first_name, last_name, birth_date (a date, or text the Date of birth box takes),
    program (a name: made when new), level, status, external_id."""
    names = ["first_name", "last_name", "birth_date", "level", "status"]
    given = {
        k: (v if isinstance(v, datetime.date) else _text(v)) for k, v in data.items() if k in names
    }
    values, errors = _form_clean(StudentForm, given, names, organization=organization)
    if "program" in data:
        values["program"], problems = _name_clean(data["program"], Program)
        if problems:
            errors["program"] = problems
            values.pop("program")
    _external_id_in(data, values, errors)
    return Cleaned(values, errors)


def number_clean(
    *,
    organization: Organization,
    field: PhoneField,
    data: Mapping[str, Any],
) -> Cleaned:
    """One Family Template number. Keys: number (empty removes it), text_capable (bool),
    texts (bool: the texting opt-in), consent_basis (required to turn texts on).

    ``values["e164"]`` is the number in E.164, or "" to remove it."""
    values: dict[str, Any] = {}
    errors: Errors = {}
    if "number" in data:
        number, problems = _form_clean(PhoneSetForm, {"number": _text(data["number"])}, ["number"])
        raw = number.get("number", "")
        if problems:
            errors["number"] = problems
        elif not raw.strip():
            if field.required:
                errors["number"] = [f"{field.label} is required."]
            else:
                values["e164"] = ""
        else:
            try:
                values["e164"] = phone_parse(raw, country=organization.country)
            except ValidationError as exc:
                errors["number"] = exc.messages
    for flag in ("text_capable", "texts"):
        if flag in data and data[flag] is not None:
            if not isinstance(data[flag], bool):
                errors[flag] = ["Must be true or false."]
            else:
                values[flag] = data[flag]
    basis = _text(data.get("consent_basis")).strip()
    if values.get("texts") and not basis:
        errors["consent_basis"] = [CONSENT_BASIS_NEEDED]
    if values.get("texts") and values.get("text_capable") is False:
        errors["texts"] = ["This number is not marked text-capable, so it cannot opt in to texts."]
    if basis:
        values["consent_basis"] = basis[:1000]
    return Cleaned(values, errors)


def _raise(cleaned: Cleaned) -> None:
    if cleaned.errors:
        raise ValidationError(cleaned.errors)


# --- Writing ---


def _named(model: type[Location] | type[Program], organization: Organization, name: str):
    if not name:
        return None
    found = model.objects.for_org(organization).filter(name__iexact=name).first()
    if found is None:
        found, _ = model.objects.get_or_create(organization=organization, name=name)
    return found


def _apply(row: models.Model, values: Mapping[str, Any]) -> bool:
    """Set the changed attributes; save only those. True when anything changed."""
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, values[name])
    if changed and row.pk is not None:
        row.save(update_fields=changed)
    return bool(changed)


def _with_retry(write):
    """Two syncs creating one external id at once: the unique constraint refuses the second,
    which then finds and updates the row the first made."""
    try:
        with transaction.atomic():
            return write()
    except IntegrityError:
        with transaction.atomic():
            return write()


def family_upsert(
    *,
    organization: Organization,
    external_id: str,
    data: Mapping[str, Any],
) -> Upserted:
    """The family with this external id in the organization, created or updated from ``data``
    (see ``family_clean``; ``name`` is needed to create one). Its numbers are set with
    ``number_put``; a new family is not checked against required template fields here, so a
    sync can send the family first and its numbers next."""
    eid, problems = external_id_clean(external_id)
    if problems:
        raise ValidationError({"external_id": problems})
    cleaned = family_clean(organization=organization, data=data)
    _raise(cleaned)
    values = {k: v for k, v in cleaned.values.items() if k != "external_id"}
    if "location" in values:
        values["location"] = _named(Location, organization, values["location"])

    def write() -> Upserted:
        family = Family.objects.for_org(organization).filter(external_id=eid).first()
        if family is None:
            if not values.get("name"):
                raise ValidationError({"name": ["This field is required."]})
            family = Family(organization=organization, external_id=eid)
            _apply(family, values)
            family.save()
            return Upserted(family, created=True, changed=True)
        return Upserted(family, created=False, changed=_apply(family, values))

    return _with_retry(write)


def _member_upsert(
    model: type[Guardian] | type[Student],
    *,
    family: Family,
    external_id: str,
    values: dict[str, Any],
) -> Upserted:
    eid, problems = external_id_clean(external_id)
    if problems:
        raise ValidationError({"external_id": problems})
    values = {k: v for k, v in values.items() if k != "external_id"}

    def write() -> Upserted:
        row = model.objects.for_org(family.organization).filter(external_id=eid).first()
        if row is None:
            if not values.get("first_name"):
                raise ValidationError({"first_name": ["This field is required."]})
            row = model(organization_id=family.organization_id, family=family, external_id=eid)
            _apply(row, values)
            row.save()
            return Upserted(row, created=True, changed=True)
        # The other system is the truth: a child or parent it moved to another family moves.
        return Upserted(row, created=False, changed=_apply(row, {**values, "family_id": family.pk}))

    return _with_retry(write)


def guardian_upsert(*, family: Family, external_id: str, data: Mapping[str, Any]) -> Upserted:
    """The guardian with this external id in the family's organization, created in ``family``
    or updated (and moved to ``family``). Needs ``first_name`` to create one."""
    cleaned = guardian_clean(data=data)
    _raise(cleaned)
    return _member_upsert(Guardian, family=family, external_id=external_id, values=cleaned.values)


def student_upsert(*, family: Family, external_id: str, data: Mapping[str, Any]) -> Upserted:
    """The student with this external id in the family's organization, created in ``family``
    or updated (and moved to ``family``). Needs ``first_name`` to create one."""
    organization = family.organization
    cleaned = student_clean(organization=organization, data=data)
    _raise(cleaned)
    values = dict(cleaned.values)
    if "program" in values:
        values["program"] = _named(Program, organization, values["program"])
    return _member_upsert(Student, family=family, external_id=external_id, values=values)


def _eid_free(model: type[models.Model], organization_id: int, values: dict, pk: int | None):
    eid = values.get("external_id")
    if not eid:
        return
    taken = model.objects.filter(organization_id=organization_id, external_id=eid)
    if taken.exclude(pk=pk).exists():
        noun = model._meta.verbose_name
        raise ValidationError(
            {"external_id": [f"There is already a {noun} with external id {eid}."]}
        )


def _family_values(organization: Organization, cleaned: Cleaned) -> dict[str, Any]:
    _raise(cleaned)
    values = dict(cleaned.values)
    if "location" in values:
        values["location"] = _named(Location, organization, values["location"])
    return values


@transaction.atomic
def family_create_new(*, organization: Organization, data: Mapping[str, Any]) -> Upserted:
    """A family with or without an external id (a blank one is none); ``name`` is needed."""
    values = _family_values(organization, family_clean(organization=organization, data=data))
    if not values.get("name"):
        raise ValidationError({"name": ["This field is required."]})
    _eid_free(Family, organization.pk, values, None)
    family = Family(organization=organization)
    _apply(family, values)
    family.save()
    return Upserted(family, created=True, changed=True)


@transaction.atomic
def family_upsert_by_row(*, family: Family, data: Mapping[str, Any]) -> Upserted:
    """Update a family found by id (one made on the pages has no external id; ``data`` may
    give it one)."""
    organization = family.organization
    values = _family_values(organization, family_clean(organization=organization, data=data))
    _eid_free(Family, organization.pk, values, family.pk)
    return Upserted(family, created=False, changed=_apply(family, values))


def _member_values(row_or_model, organization: Organization, cleaned: Cleaned) -> dict[str, Any]:
    _raise(cleaned)
    values = dict(cleaned.values)
    if "program" in values:
        values["program"] = _named(Program, organization, values["program"])
    return values


@transaction.atomic
def member_create(
    *, model: type[Guardian] | type[Student], family: Family, cleaned: Cleaned
) -> Upserted:
    """A new guardian or student (``cleaned`` from ``guardian_clean`` or ``student_clean``)."""
    values = _member_values(model, family.organization, cleaned)
    if not values.get("first_name"):
        raise ValidationError({"first_name": ["This field is required."]})
    _eid_free(model, family.organization_id, values, None)
    row = model(organization_id=family.organization_id, family=family)
    _apply(row, values)
    row.save()
    return Upserted(row, created=True, changed=True)


@transaction.atomic
def member_update_by_row(*, row: Guardian | Student, family: Family, cleaned: Cleaned) -> Upserted:
    """Update a guardian or student found by id, moving it to ``family`` (same organization)."""
    if family.organization_id != row.organization_id:
        raise ValidationError({"family": ["No such family in your organization."]})
    values = _member_values(row, row.organization, cleaned)
    _eid_free(type(row), row.organization_id, values, row.pk)
    return Upserted(row, created=False, changed=_apply(row, {**values, "family_id": family.pk}))


def phone_field_find(*, organization: Organization, key: Any) -> PhoneField | None:
    """A Family Template field by its id or its label (any case), in the organization only."""
    fields = PhoneField.objects.for_org(organization)
    text = _text(key).strip()
    if text.isdigit():
        found = fields.filter(pk=int(text)).first()
        if found is not None:
            return found
    return fields.filter(label__iexact=text).first() if text else None


@transaction.atomic
def number_put(
    *,
    family: Family,
    field: PhoneField,
    data: Mapping[str, Any],
    actor: AbstractBaseUser | None,
    source: str,
    actor_label: str = "",
) -> Upserted:
    """Set the family's number in one template field (see ``number_clean``). New digits are a
    new number with no consent (an opt-in of the old digits ends, recorded); texts turn on
    only with a consent basis, recorded as a ConsentEvent of ``source`` (api or import) with
    the basis as its note. Returns the number (or, removed, the family) and what changed."""
    if field.organization_id != family.organization_id:
        raise ValidationError({"field": ["That phone field belongs to another organization."]})
    cleaned = number_clean(organization=family.organization, field=field, data=data)
    _raise(cleaned)
    values = cleaned.values
    existing = PhoneNumber.objects.select_for_update().filter(family=family, field=field).first()
    created = changed = False
    e164 = values.get("e164", existing.e164 if existing else "")
    capable = values.get("text_capable")  # None: keep it, or guess it for a new number
    if existing is None and e164:
        created = changed = True
    elif existing is not None and not e164:
        changed = True
    elif existing is not None:
        changed = existing.e164 != e164 or capable not in (None, existing.text_capable)
    if changed:
        existing = family_phone_set(
            family=family, field=field, raw=e164, text_capable=capable, actor=actor, source=source
        )
    texts = values.get("texts")
    if existing is None:
        if texts:
            raise ValidationError({"texts": [f"{field.label} has no number to text."]})
        return Upserted(family, created=False, changed=changed)
    if texts is not None and texts != existing.sms_opt_in:
        try:
            consent_record(
                phone_number=existing,
                opted_in=texts,
                source=source,
                actor=actor,
                actor_label=actor_label,
                note=values.get("consent_basis", ""),
            )
        except ValidationError as exc:
            raise ValidationError({"texts": exc.messages}) from None
        changed = True
    return Upserted(existing, created=created, changed=changed)


def family_deactivate(*, family: Family) -> Upserted:
    """A family the other system no longer has: inactive, kept with its history."""
    return Upserted(family, created=False, changed=_apply(family, {"status": "inactive"}))


def student_deactivate(*, student: Student) -> Upserted:
    return Upserted(student, created=False, changed=_apply(student, {"status": "inactive"}))
