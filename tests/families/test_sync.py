"""Upserts by external id (families.sync): the services the write API and the CSV import share."""

import pytest
from django.core.exceptions import ValidationError

from families import sync
from families.forms import FamilyForm, GuardianForm, StudentForm
from families.models import ConsentEvent, Family, OptOut, PhoneNumber, Program, Student
from tests.factories import FamilyFactory, PhoneFieldFactory

pytestmark = pytest.mark.django_db


def _form_errors(form_class, data, **kwargs) -> dict:
    form = form_class(data=data, **kwargs)
    form.is_valid()
    return {k: list(v) for k, v in form.errors.items()}


def test_a_family_is_created_then_updated_then_left_unchanged(org):
    first = sync.family_upsert(
        organization=org, external_id="F-1", data={"name": "Rivera", "location": "North"}
    )
    assert first.result == "created"
    assert first.row.location.name == "North" and first.row.external_id == "F-1"

    second = sync.family_upsert(organization=org, external_id="F-1", data={"name": "Rivera-Lee"})
    assert second.result == "updated" and second.row.pk == first.row.pk
    again = sync.family_upsert(
        organization=org, external_id="F-1", data={"name": "Rivera-Lee", "location": "north"}
    )
    assert again.result == "unchanged"
    assert Family.objects.for_org(org).get().name == "Rivera-Lee"


def test_another_organizations_external_id_is_a_different_family(org, other_org):
    theirs = sync.family_upsert(organization=other_org, external_id="F-1", data={"name": "Theirs"})
    ours = sync.family_upsert(organization=org, external_id="F-1", data={"name": "Ours"})
    assert ours.created and ours.row.pk != theirs.row.pk
    theirs.row.refresh_from_db()
    assert theirs.row.name == "Theirs"


def test_family_errors_are_the_forms_words(org):
    data = {"name": "x" * 121, "status": "gone"}
    with pytest.raises(ValidationError) as raised:
        sync.family_upsert(organization=org, external_id="F-1", data=data)
    assert raised.value.message_dict == _form_errors(FamilyForm, data, organization=org)
    assert not Family.objects.exists()


def test_a_new_family_needs_a_name(org):
    cleaned = sync.family_clean(organization=org, data={"name": "  "})
    assert cleaned.errors == {"name": ["This field is required."]}
    with pytest.raises(ValidationError) as raised:
        sync.family_upsert(organization=org, external_id="F-1", data={"status": "active"})
    assert raised.value.message_dict == {"name": ["This field is required."]}


def test_guardian_and_student_errors_are_the_forms_words(org):
    family = FamilyFactory(organization=org)
    data = {"first_name": "", "email": "not-an-email"}
    with pytest.raises(ValidationError) as raised:
        sync.guardian_upsert(family=family, external_id="G-1", data=data)
    assert raised.value.message_dict == _form_errors(GuardianForm, data)
    data = {"first_name": "Ana", "birth_date": "31/31/2015", "status": "x", "level": "l" * 41}
    with pytest.raises(ValidationError) as raised:
        sync.student_upsert(family=family, external_id="S-1", data=data)
    assert raised.value.message_dict == _form_errors(StudentForm, data, organization=org)


def test_students_are_upserted_with_programs_by_name_and_moved_between_families(org):
    one, two = FamilyFactory(organization=org), FamilyFactory(organization=org)
    data = {"first_name": "Ana", "birth_date": "2016-04-02", "program": "Swim 3"}
    assert sync.student_upsert(family=one, external_id="S-1", data=data).created
    assert sync.student_upsert(family=one, external_id="S-1", data=data).result == "unchanged"
    moved = sync.student_upsert(family=two, external_id="S-1", data=data)
    assert moved.result == "updated" and moved.row.family == two
    assert Program.objects.for_org(org).get().name == "Swim 3"
    assert sync.student_deactivate(student=moved.row).changed
    assert Student.objects.get().status == "inactive"


def test_a_number_is_set_with_the_phone_validation_words(org):
    family = FamilyFactory(organization=org)
    field = PhoneFieldFactory(organization=org, label="Mother cell")
    with pytest.raises(ValidationError) as raised:
        sync.number_put(
            family=family, field=field, data={"number": "(555) 0100"}, actor=None, source="api"
        )
    assert raised.value.message_dict == {"number": ["(555) 0100 is not a valid US number."]}
    put = sync.number_put(
        family=family, field=field, data={"number": "202-555-0123"}, actor=None, source="api"
    )
    assert put.created and put.row.e164 == "+12025550123" and not put.row.sms_opt_in
    same = sync.number_put(
        family=family, field=field, data={"number": "(202) 555-0123"}, actor=None, source="api"
    )
    assert same.result == "unchanged"


def test_texts_turn_on_only_with_a_consent_basis(org):
    family = FamilyFactory(organization=org)
    field = PhoneFieldFactory(organization=org, label="Mother cell")
    data = {"number": "202-555-0123", "texts": True}
    with pytest.raises(ValidationError) as raised:
        sync.number_put(family=family, field=field, data=data, actor=None, source="api")
    assert raised.value.message_dict == {"consent_basis": [sync.CONSENT_BASIS_NEEDED]}
    assert not PhoneNumber.objects.exists()

    basis = "Written consent on the 2026 enrollment form"
    put = sync.number_put(
        family=family,
        field=field,
        data={**data, "consent_basis": basis},
        actor=None,
        source="api",
        actor_label="API key Nightly sync",
    )
    assert put.row.sms_opt_in
    event = ConsentEvent.objects.get()
    assert (event.source, event.note, event.opted_in) == ("api", basis, True)
    assert event.actor_label == "API key Nightly sync"
    again = sync.number_put(
        family=family,
        field=field,
        data={**data, "consent_basis": basis},
        actor=None,
        source="api",
    )
    assert again.result == "unchanged" and ConsentEvent.objects.count() == 1


def test_a_number_that_replied_stop_is_not_opted_back_in(org):
    family = FamilyFactory(organization=org)
    field = PhoneFieldFactory(organization=org)
    OptOut.objects.create(organization=org, e164="+12025550123")
    data = {"number": "202-555-0123", "texts": True, "consent_basis": "form"}
    with pytest.raises(ValidationError) as raised:
        sync.number_put(family=family, field=field, data=data, actor=None, source="api")
    assert "replied STOP" in raised.value.message_dict["texts"][0]


def test_an_empty_number_removes_it_unless_required(org):
    family = FamilyFactory(organization=org)
    field = PhoneFieldFactory(organization=org, label="Home")
    sync.number_put(
        family=family, field=field, data={"number": "2025550123"}, actor=None, source="api"
    )
    removed = sync.number_put(
        family=family, field=field, data={"number": ""}, actor=None, source="api"
    )
    assert removed.changed and not PhoneNumber.objects.exists()
    field.required = True
    field.save()
    with pytest.raises(ValidationError) as raised:
        sync.number_put(family=family, field=field, data={"number": ""}, actor=None, source="api")
    assert raised.value.message_dict == {"number": ["Home is required."]}


def test_fields_are_found_by_label_or_id_in_the_organization_only(org, other_org):
    ours = PhoneFieldFactory(organization=org, label="Mother cell")
    theirs = PhoneFieldFactory(organization=other_org, label="Father cell")
    assert sync.phone_field_find(organization=org, key="mother CELL") == ours
    assert sync.phone_field_find(organization=org, key=str(ours.pk)) == ours
    assert sync.phone_field_find(organization=org, key=theirs.pk) is None
    assert sync.phone_field_find(organization=org, key="Father cell") is None
