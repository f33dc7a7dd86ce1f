"""Each filter of the Families, Students and Staff lists, alone, on rows built to tell apart."""

import datetime

import pytest
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from families.models import Family, Student
from families.selection import kind_filterset
from smsvoice.models import StaffMember
from tests.factories import (
    FamilyFactory,
    GuardianFactory,
    LocationFactory,
    PhoneFieldFactory,
    PhoneNumberFactory,
    ProgramFactory,
    StaffMemberFactory,
    StudentFactory,
)

pytestmark = pytest.mark.django_db


def _matching(org, kind: str, **query) -> set:
    data = QueryDict(mutable=True)
    for key, value in query.items():
        data[key] = str(value)
    filterset = kind_filterset(organization=org, kind=kind, data=data)
    assert filterset.is_valid(), filterset.errors
    return set(filterset.qs)


def _family_number(family, **kwargs):
    field = PhoneFieldFactory(organization=family.organization)
    return PhoneNumberFactory(family=family, field=field, **kwargs)


def _staff_number(member, **kwargs):
    return PhoneNumberFactory(
        family=None, field=None, staff_member=member, organization=member.organization, **kwargs
    )


def _born(years_ago: int, days: int = 0) -> datetime.date:
    today = timezone.localdate()
    return today.replace(year=today.year - years_ago) + datetime.timedelta(days=days)


# --- Families ---


@pytest.fixture
def families(org):
    """Three families that differ in every filtered attribute."""
    north, south = LocationFactory(organization=org), LocationFactory(organization=org)
    swim, gym = ProgramFactory(organization=org), ProgramFactory(organization=org)
    rivera = FamilyFactory(organization=org, name="Rivera", location=north)
    StudentFactory(family=rivera, first_name="Ana", program=swim, level="Gold")
    _family_number(rivera, e164="+12025550142", sms_opt_in=True)
    chen = FamilyFactory(organization=org, name="Chen", location=south)
    StudentFactory(family=chen, first_name="Wei", program=gym, level="Silver")
    GuardianFactory(family=chen, first_name="Lin", email="lin@example.test")
    _family_number(chen, sms_opt_in=False)
    okafor = FamilyFactory(organization=org, name="Okafor", status=Family.Status.INACTIVE)
    return {"rivera": rivera, "chen": chen, "okafor": okafor, "north": north, "swim": swim}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "rive"}, {"rivera"}),
        ({"q": "Wei"}, {"chen"}),  # a student's name
        ({"q": "lin@example"}, {"chen"}),  # a guardian's email
        ({"q": "555-0142"}, {"rivera"}),  # digits of a phone number
        ({"status": "inactive"}, {"okafor"}),
        ({"status": "active"}, {"rivera", "chen"}),
        ({"level": "Silver"}, {"chen"}),
        ({"opted_in": "yes"}, {"rivera"}),
        ({"opted_in": "no"}, {"chen", "okafor"}),
        ({"has_phone": "yes"}, {"rivera", "chen"}),
        ({"has_phone": "no"}, {"okafor"}),
        ({}, {"rivera", "chen", "okafor"}),
    ],
)
def test_each_family_filter_keeps_only_matching_families(org, families, query, expected):
    assert _matching(org, "families", **query) == {families[name] for name in expected}


def test_families_filter_by_location_and_by_a_students_program(org, families):
    assert _matching(org, "families", location=families["north"].pk) == {families["rivera"]}
    assert _matching(org, "families", program=families["swim"].pk) == {families["rivera"]}


def test_a_family_with_two_students_in_the_program_is_listed_once(org, families):
    StudentFactory(family=families["rivera"], program=families["swim"])
    response_ids = [
        f.pk
        for f in kind_filterset(
            organization=org, kind="families", data=QueryDict(f"program={families['swim'].pk}")
        ).qs
    ]
    assert response_ids == [families["rivera"].pk]


def test_a_number_that_opted_in_but_is_not_text_capable_does_not_count(org):
    family = FamilyFactory(organization=org)
    _family_number(family, text_capable=False)
    assert _matching(org, "families", opted_in="yes") == set()


def test_filters_never_reach_another_organizations_rows(org, other_org, families):
    FamilyFactory(organization=other_org, name="Rivera")
    assert _matching(org, "families", q="Rivera") == {families["rivera"]}


@pytest.mark.parametrize("name", ["program", "location"])
def test_another_organizations_program_or_location_is_not_a_valid_choice(org, other_org, name):
    other = (ProgramFactory if name == "program" else LocationFactory)(organization=other_org)
    filterset = kind_filterset(
        organization=org, kind="families", data=QueryDict(f"{name}={other.pk}")
    )
    assert not filterset.is_valid()
    assert name in filterset.errors


def test_the_level_choices_are_the_organizations_own_levels(org, other_org, families):
    StudentFactory(family=FamilyFactory(organization=other_org), level="Theirs")
    form = kind_filterset(organization=org, kind="families", data=QueryDict()).form
    assert [value for value, _ in form.fields["level"].choices] == ["", "Gold", "Silver"]


@pytest.mark.parametrize("kind", ["families", "students", "staff"])
def test_every_filter_has_a_readable_label(org, kind):
    form = kind_filterset(organization=org, kind=kind, data=QueryDict()).form
    labels = [str(field.label) for field in form.fields.values()]
    assert all(label and "invalid" not in label for label in labels), labels


@pytest.mark.parametrize("kind", ["families", "students"])
def test_choices_stay_per_organization_after_the_class_filters_built_their_fields(
    org, families, kind
):
    # The API schema builds the class-level filters' form fields; that must not freeze choices.
    filterset_class = type(kind_filterset(organization=org, kind=kind, data=None))
    for name in ("level", "program", "location"):
        assert filterset_class.base_filters[name].field is not None
    query = QueryDict(f"level=Gold&program={families['swim'].pk}&location={families['north'].pk}")
    filterset = kind_filterset(organization=org, kind=kind, data=query)
    assert filterset.is_valid(), filterset.errors


def test_building_a_filterset_runs_no_query_until_it_is_used(org, django_assert_num_queries):
    with django_assert_num_queries(0):
        kind_filterset(organization=org, kind="families", data=QueryDict("status=active"))


# --- Students ---


@pytest.fixture
def students(org):
    north = LocationFactory(organization=org)
    swim = ProgramFactory(organization=org)
    texting = FamilyFactory(organization=org, name="Texting", location=north)
    _family_number(texting, sms_opt_in=True)
    quiet = FamilyFactory(organization=org, name="Quiet")
    return {
        "ana": StudentFactory(
            family=texting, first_name="Ana", program=swim, level="Gold", birth_date=_born(6)
        ),
        "ben": StudentFactory(
            family=quiet,
            first_name="Ben",
            level="Silver",
            status=Student.Status.WAITLIST,
            birth_date=_born(9, days=1),  # turns 9 tomorrow: still 8
        ),
        "cy": StudentFactory(family=quiet, first_name="Cy", birth_date=None),
        "north": north,
        "swim": swim,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "ana"}, {"ana"}),
        ({"q": "quiet"}, {"ben", "cy"}),  # the family's name
        ({"status": "waitlist"}, {"ben"}),
        ({"level": "Gold"}, {"ana"}),
        ({"age_min": "7"}, {"ben"}),
        ({"age_max": "7"}, {"ana"}),
        ({"age_min": "8", "age_max": "8"}, {"ben"}),
        ({"age_min": "9"}, set()),
        ({"opted_in": "yes"}, {"ana"}),
        ({"opted_in": "no"}, {"ben", "cy"}),
        ({"has_phone": "yes"}, {"ana"}),
        ({"has_phone": "no"}, {"ben", "cy"}),
    ],
)
def test_each_student_filter_keeps_only_matching_students(org, students, query, expected):
    assert _matching(org, "students", **query) == {students[name] for name in expected}


def test_students_filter_by_their_familys_location_and_their_program(org, students):
    assert _matching(org, "students", location=students["north"].pk) == {students["ana"]}
    assert _matching(org, "students", program=students["swim"].pk) == {students["ana"]}


@pytest.mark.parametrize("age", ["-1", "121", "100000"])
def test_an_impossible_age_is_refused_instead_of_crashing(org, age):
    filterset = kind_filterset(organization=org, kind="students", data=QueryDict(f"age_min={age}"))
    assert not filterset.is_valid()
    assert "age_min" in filterset.errors


# --- Staff ---


@pytest.fixture
def staff(org, staff_member):
    owner = StaffMemberFactory(
        organization=org, first_name="Olga", role=StaffMember.Role.ADMIN, title="Owner"
    )
    _staff_number(owner, sms_opt_in=True)
    former = StaffMemberFactory(organization=org, first_name="Fred", is_active=False)
    _staff_number(former)
    return {"me": staff_member, "owner": owner, "former": former}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "owner"}, {"owner"}),  # the title
        ({"q": "olga"}, {"owner"}),
        ({"role": "admin"}, {"owner"}),
        ({"role": "staff"}, {"me", "former"}),
        ({"is_active": "false"}, {"former"}),
        ({"is_active": "true"}, {"me", "owner"}),
        ({"opted_in": "yes"}, {"owner"}),
        ({"opted_in": "no"}, {"me", "former"}),
        ({"has_phone": "yes"}, {"owner", "former"}),
        ({"has_phone": "no"}, {"me"}),
    ],
)
def test_each_staff_filter_keeps_only_matching_staff(org, staff, query, expected):
    assert _matching(org, "staff", **query) == {staff[name] for name in expected}


# --- Through the pages ---


def test_the_families_page_applies_its_filters(staff_client, org, families):
    response = staff_client.get(reverse("families:family_list"), {"opted_in": "yes"})
    assert [f.name for f in response.context["page_obj"].object_list] == ["Rivera"]
    assert "1 family matches these filters." in response.content.decode()


def test_the_students_page_applies_its_filters(staff_client, org, students):
    response = staff_client.get(reverse("families:student_list"), {"status": "waitlist"})
    assert list(response.context["page_obj"].object_list) == [students["ben"]]


def test_the_staff_page_applies_its_filters(staff_client, org, staff):
    response = staff_client.get(reverse("families:staff_list"), {"role": "admin"})
    assert list(response.context["page_obj"].object_list) == [staff["owner"]]
