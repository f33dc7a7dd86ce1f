"""The people directory API: the three lists, their filters and paging, and selection counts."""

import json

import pytest
from django.urls import reverse

from tests.factories import (
    FamilyFactory,
    LocationFactory,
    PhoneFieldFactory,
    PhoneNumberFactory,
    ProgramFactory,
    StaffMemberFactory,
    StudentFactory,
)

pytestmark = pytest.mark.django_db

FAMILIES = reverse("families_api:family_list")
STUDENTS = reverse("families_api:student_list")
STAFF = reverse("families_api:staff_list")
COUNT = reverse("families_api:selection_count")


def _post_json(client, url, payload):
    return client.post(url, json.dumps(payload), content_type="application/json")


def test_the_routes_are_under_api_v1():
    assert FAMILIES == "/api/v1/families/"
    assert STUDENTS == "/api/v1/students/"
    assert STAFF == "/api/v1/staff/"
    assert COUNT == "/api/v1/selections/count/"


def test_families_come_with_location_students_and_number_counts(staff_client, org):
    family = FamilyFactory(
        organization=org, name="Rivera", location=LocationFactory(organization=org, name="North")
    )
    ana = StudentFactory(family=family, first_name="Ana", last_name="Rivera")
    PhoneNumberFactory(family=family, field=PhoneFieldFactory(organization=org), sms_opt_in=True)
    PhoneNumberFactory(family=family, field=PhoneFieldFactory(organization=org))

    body = staff_client.get(FAMILIES).json()

    assert body["count"] == 1
    assert body["results"] == [
        {
            "id": family.pk,
            "external_id": "",
            "name": "Rivera",
            "status": "active",
            "location": "North",
            "students": [{"id": ana.pk, "first_name": "Ana", "last_name": "Rivera"}],
            "phone_count": 2,
            "opted_in_count": 1,
        }
    ]


def test_a_family_without_location_has_a_null_location(staff_client, org):
    FamilyFactory(organization=org)
    assert staff_client.get(FAMILIES).json()["results"][0]["location"] is None


def test_the_api_filters_like_the_pages(staff_client, org):
    swim = ProgramFactory(organization=org)
    swimmer = FamilyFactory(organization=org, name="Swimmer")
    StudentFactory(family=swimmer, program=swim)
    FamilyFactory(organization=org, name="Other")
    body = staff_client.get(FAMILIES, {"program": swim.pk}).json()
    assert [row["name"] for row in body["results"]] == ["Swimmer"]
    body = staff_client.get(FAMILIES, {"q": "oth"}).json()
    assert [row["name"] for row in body["results"]] == ["Other"]


def test_the_api_pages_by_fifty_and_sorts(staff_client, org):
    FamilyFactory.create_batch(55, organization=org)
    first = staff_client.get(FAMILIES, {"sort": "-name"}).json()
    assert first["count"] == 55 and len(first["results"]) == 50
    assert first["results"][0]["name"] > first["results"][-1]["name"]
    second = staff_client.get(first["next"]).json()
    assert len(second["results"]) == 5
    ids = {row["id"] for row in first["results"]} | {row["id"] for row in second["results"]}
    assert len(ids) == 55


def test_an_invalid_filter_is_a_400_that_names_the_filter(staff_client, org, other_org):
    theirs = ProgramFactory(organization=other_org)
    response = staff_client.get(FAMILIES, {"program": theirs.pk})
    assert response.status_code == 400
    assert "program" in response.json()


def test_students_and_staff_lists(staff_client, org, staff_member):
    family = FamilyFactory(organization=org, name="Nguyen")
    program = ProgramFactory(organization=org, name="Swim 2")
    bao = StudentFactory(family=family, first_name="Bao", program=program, level="Gold")
    StaffMemberFactory(organization=org, first_name="Olga", role="admin", title="Owner")

    student = staff_client.get(STUDENTS).json()["results"][0]
    assert student["id"] == bao.pk and student["family"] == family.pk
    assert (student["family_name"], student["program"], student["level"]) == (
        "Nguyen",
        "Swim 2",
        "Gold",
    )
    admins = staff_client.get(STAFF, {"role": "admin"}).json()["results"]
    assert [(s["first_name"], s["title"]) for s in admins] == [("Olga", "Owner")]


@pytest.mark.parametrize("url", [FAMILIES, STUDENTS, STAFF])
def test_the_lists_show_only_the_callers_organization(other_staff_client, org, url):
    family = FamilyFactory(organization=org)
    StudentFactory(family=family)
    StaffMemberFactory(organization=org)
    results = other_staff_client.get(url).json()["results"]
    # The other organization sees only its own staff member (the caller).
    assert all(row.get("first_name") != "Kid" for row in results)
    assert len(results) == (1 if url == STAFF else 0)


@pytest.mark.parametrize("url", [FAMILIES, STUDENTS, STAFF])
def test_anonymous_callers_are_refused(client, url):
    assert client.get(url).status_code == 403
    assert _post_json(client, COUNT, {"kind": "families"}).status_code == 403


def test_selection_count_counts_matching_plus_ids_minus_exclusions(staff_client, org, other_org):
    swim = ProgramFactory(organization=org)
    swimmers = FamilyFactory.create_batch(4, organization=org)
    for family in swimmers:
        StudentFactory(family=family, program=swim)
    extra = FamilyFactory(organization=org)
    theirs = FamilyFactory(organization=other_org)

    response = _post_json(
        staff_client,
        COUNT,
        {
            "kind": "families",
            "ids": [extra.pk, str(theirs.pk)],
            "filter": {"program": str(swim.pk), "page": "3"},
            "exclude": [swimmers[0].pk],
        },
    )

    assert response.status_code == 200
    assert response.json() == {
        "count": 4,  # three swimmers and the extra family; another's id counts for nothing
        "selection": {
            "kind": "families",
            "ids": sorted([extra.pk, theirs.pk]),
            "filter": {"program": [str(swim.pk)]},
            "exclude": [swimmers[0].pk],
        },
    }


def test_selection_count_of_an_empty_filter_is_every_row(staff_client, org):
    StaffMemberFactory.create_batch(2, organization=org)
    response = _post_json(staff_client, COUNT, {"kind": "staff", "filter": {}})
    assert response.json()["count"] == 3  # with the caller


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"kind": "pets"}, "Unknown selection kind 'pets'"),
        ({"kind": "families", "ids": ["one"]}, "must be whole-number ids"),
        ({"kind": "families", "filter": {"status": "sleeping"}}, "filter is not valid"),
        ({"kind": "families", "filter": {"colour": "red"}}, "Unknown filter 'colour'"),
        ([1, 2], "must be an object"),
    ],
)
def test_a_bad_selection_is_a_400_with_a_clear_message(staff_client, org, payload, message):
    response = _post_json(staff_client, COUNT, payload)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_selection_count_takes_json_only(staff_client):
    response = staff_client.post(COUNT, {"kind": "families"})
    assert response.status_code == 415


def test_the_schema_is_served_and_documents_the_directory(staff_client):
    response = staff_client.get(reverse("api-schema"), HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    for path in (FAMILIES, STUDENTS, STAFF, COUNT):
        assert path in paths
    family_params = {p["name"]: p for p in paths[FAMILIES]["get"]["parameters"]}
    assert {"q", "status", "location", "program", "level", "opted_in", "has_phone", "sort"} <= set(
        family_params
    )
    assert family_params["program"]["schema"]["type"] == "integer"
    count = paths[COUNT]["post"]
    # 401 and 429 are an API key's answers (smsvoice.api_keys).
    assert set(count["responses"]) == {"200", "400", "401", "403", "429"}
