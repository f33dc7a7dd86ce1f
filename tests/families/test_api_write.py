"""The write API: upserts by external id, the forms' messages, consent only with a basis, and
tenancy of every write (another organization's ids and external ids are 404)."""

import json

import pytest
from django.test import Client

from families.forms import FamilyForm, StudentForm
from families.models import ConsentEvent, Family, Guardian, OptOut, PhoneNumber, Student
from families.phones import phone_parse
from smsvoice.api_keys import api_key_create
from tests.factories import (
    FamilyFactory,
    GuardianFactory,
    PhoneFieldFactory,
    StaffMemberFactory,
    StudentFactory,
)

pytestmark = pytest.mark.django_db

BASIS = "Written consent on the 2026 enrollment form, signed 1 Aug 2026"


@pytest.fixture(autouse=True)
def rate_counters_clean(settings):
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    keys = list(client.scan_iter(match="apikey-rate:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def api(admin_member):
    """Calls with a read + write key of the admin's organization."""
    full = api_key_create(
        organization=admin_member.organization,
        name="Nightly sync",
        scopes=["read", "write"],
        created_by=admin_member,
    )[1]
    return _Caller(full)


class _Caller:
    def __init__(self, key: str) -> None:
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def __call__(self, method: str, url: str, body=None):
        if body is None:
            return getattr(self.client, method)(url)
        return getattr(self.client, method)(
            url, data=json.dumps(body), content_type="application/json"
        )


@pytest.fixture
def other_api(other_org):
    admin = StaffMemberFactory(organization=other_org, role="admin")
    full = api_key_create(
        organization=other_org, name="Theirs", scopes=["read", "write"], created_by=admin
    )[1]
    return _Caller(full)


def _family_body():
    return {
        "name": "Rivera",
        "location": "North",
        "guardians": [
            {
                "external_id": "G-1",
                "first_name": "Maria",
                "last_name": "Rivera",
                "email": "maria@example.test",
            },
        ],
        "students": [
            {
                "external_id": "S-1",
                "first_name": "Ana",
                "last_name": "Rivera",
                "birth_date": "2016-04-02",
                "program": "Swim 3",
                "level": "Blue",
            },
        ],
        "numbers": [{"field": "Mother cell", "number": "(202) 555-0123"}],
    }


URL = "/api/v1/families/by-external-id/F-1/"


def test_a_family_is_created_then_updated_then_the_same_payload_changes_nothing(api, org):
    PhoneFieldFactory(organization=org, label="Mother cell")
    created = api("put", URL, _family_body())
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["result"] == "created" and body["external_id"] == "F-1"
    assert body["location"] == "North"
    assert [g["external_id"] for g in body["guardians"]] == ["G-1"]
    assert body["students"][0]["program"] == "Swim 3"
    assert body["numbers"] == [
        {
            "field": "Mother cell",
            "field_id": body["numbers"][0]["field_id"],
            "number": "+12025550123",
            "text_capable": True,
            "texts": False,
            "replied_stop": False,
        }
    ]

    changed = _family_body()
    changed["students"][0]["level"] = "Green"
    updated = api("put", URL, changed)
    assert updated.status_code == 200 and updated.json()["result"] == "updated"
    assert Student.objects.get().level == "Green"

    again = api("put", URL, changed)
    assert again.status_code == 200 and again.json()["result"] == "unchanged"
    assert Family.objects.count() == 1 and Guardian.objects.count() == 1
    assert Student.objects.count() == 1 and PhoneNumber.objects.count() == 1
    assert api("get", URL).json()["students"][0]["level"] == "Green"


def test_the_api_refuses_with_the_forms_words_and_writes_nothing(api, org):
    body = {
        "name": "x" * 121,
        "status": "gone",
        "students": [{"external_id": "S-1", "first_name": "Ana", "birth_date": "31/31/2016"}],
    }
    response = api("put", URL, body)
    assert response.status_code == 400
    errors = response.json()
    family_form = FamilyForm(data={"name": "x" * 121, "status": "gone"}, organization=org)
    family_form.is_valid()
    assert errors["name"] == family_form.errors["name"]
    assert errors["status"] == family_form.errors["status"]
    student_form = StudentForm(
        data={"first_name": "Ana", "birth_date": "31/31/2016", "status": "active"},
        organization=org,
    )
    student_form.is_valid()
    assert errors["students"] == [{"birth_date": student_form.errors["birth_date"]}]
    assert not Family.objects.exists() and not Student.objects.exists()


def test_a_bad_number_is_refused_with_the_phone_words(api, org):
    PhoneFieldFactory(organization=org, label="Mother cell")
    body = {"name": "Rivera", "numbers": [{"field": "Mother cell", "number": "(555) 0100"}]}
    response = api("put", URL, body)
    assert response.status_code == 400
    with pytest.raises(Exception) as raised:
        phone_parse("(555) 0100", country="US")
    assert response.json() == {"numbers": [{"number": raised.value.messages}]}
    assert not Family.objects.exists()


def test_a_required_template_field_is_required_on_a_new_family(api, org):
    PhoneFieldFactory(organization=org, label="Emergency", required=True)
    response = api("put", URL, {"name": "Rivera"})
    assert response.status_code == 400
    assert response.json() == {"numbers": ["Emergency is required."]}


def test_texts_are_not_turned_on_without_a_consent_basis(api, org):
    PhoneFieldFactory(organization=org, label="Mother cell")
    body = {
        "name": "Rivera",
        "numbers": [{"field": "Mother cell", "number": "2025550123", "texts": True}],
    }
    response = api("put", URL, body)
    assert response.status_code == 400
    assert "consent basis" in response.json()["numbers"][0]["consent_basis"][0]
    assert not PhoneNumber.objects.exists() and not ConsentEvent.objects.exists()

    body["numbers"][0]["consent_basis"] = BASIS
    response = api("put", URL, body)
    assert response.status_code == 201 and response.json()["numbers"][0]["texts"] is True
    event = ConsentEvent.objects.get()
    assert (event.source, event.note, event.opted_in) == ("api", BASIS, True)
    assert event.actor_label.startswith("API key “Nightly sync”")
    assert api("put", URL, body).json()["result"] == "unchanged"
    assert ConsentEvent.objects.count() == 1


def test_a_number_that_replied_stop_stays_off(api, org):
    field = PhoneFieldFactory(organization=org, label="Mother cell")
    family = FamilyFactory(organization=org, external_id="F-1")
    PhoneNumber.objects.create(organization=org, family=family, field=field, e164="+12025550123")
    OptOut.objects.create(organization=org, e164="+12025550123")
    url = f"{URL}numbers/Mother%20cell/"
    response = api("put", url, {"texts": True, "consent_basis": BASIS})
    assert response.status_code == 400
    assert "replied STOP" in response.json()["texts"][0]
    assert api("get", URL).json()["numbers"][0]["replied_stop"] is True


def test_numbers_are_set_and_removed_one_field_at_a_time(api, org):
    field = PhoneFieldFactory(organization=org, label="Home")
    FamilyFactory(organization=org, external_id="F-1")
    put = api("put", f"{URL}numbers/Home/", {"number": "202-555-0123", "text_capable": False})
    assert put.status_code == 201 and put.json()["text_capable"] is False
    assert api("put", f"{URL}numbers/{field.pk}/", {"number": "2025550123"}).json()["result"] == (
        "unchanged"
    )
    assert api("delete", f"{URL}numbers/Home/").status_code == 204
    assert not PhoneNumber.objects.exists()
    assert api("put", f"{URL}numbers/Nope/", {"number": "2025550123"}).status_code == 404


def test_guardians_and_students_upsert_by_external_id_with_their_family(api, org):
    FamilyFactory(organization=org, external_id="F-1")
    url = "/api/v1/students/by-external-id/S-9/"
    missing = api("put", url, {"first_name": "Ana"})
    assert missing.status_code == 400 and "family" in missing.json()
    created = api("put", url, {"first_name": "Ana", "family_external_id": "F-1"})
    assert created.status_code == 201 and created.json()["result"] == "created"
    assert api("put", url, {"first_name": "Ana"}).json()["result"] == "unchanged"
    gone = api("delete", url)
    assert gone.status_code == 200 and gone.json()["status"] == "inactive"

    g_url = "/api/v1/guardians/by-external-id/G-9/"
    made = api("put", g_url, {"first_name": "Maria", "family_external_id": "F-1"})
    assert made.status_code == 201
    assert api("delete", g_url).status_code == 204
    assert not Guardian.objects.exists()


def test_rows_made_on_the_pages_are_reached_by_id(api, org):
    family = FamilyFactory(organization=org, name="Page-made")
    student = StudentFactory(family=family, first_name="Ana")
    patched = api(
        "patch", f"/api/v1/families/{family.pk}/", {"name": "Renamed", "external_id": "F-77"}
    )
    assert patched.status_code == 200 and patched.json()["result"] == "updated"
    family.refresh_from_db()
    assert (family.name, family.external_id) == ("Renamed", "F-77")
    moved = api("patch", f"/api/v1/students/{student.pk}/", {"level": "Gold"})
    assert moved.status_code == 200 and moved.json()["level"] == "Gold"
    made = api("post", "/api/v1/families/", {"name": "New", "external_id": "F-78"})
    assert made.status_code == 201
    dup = api("post", "/api/v1/families/", {"name": "New", "external_id": "F-78"})
    assert dup.status_code == 400 and "already a family" in dup.json()["external_id"][0]
    kid = api("post", "/api/v1/students/", {"first_name": "Bo", "family": family.pk})
    assert kid.status_code == 201 and kid.json()["family"] == family.pk
    parent = api("post", "/api/v1/guardians/", {"first_name": "Al", "family": family.pk})
    assert parent.status_code == 201
    assert api("delete", f"/api/v1/families/{family.pk}/").json()["status"] == "inactive"


def test_another_organizations_rows_are_invisible(api, other_api, other_org, org):
    theirs = FamilyFactory(organization=other_org, external_id="F-1", name="Theirs")
    their_student = StudentFactory(family=theirs, external_id="S-1")
    their_guardian = GuardianFactory(family=theirs, external_id="G-1")
    PhoneFieldFactory(organization=other_org, label="Mother cell")
    assert api("get", URL).status_code == 404
    assert api("get", f"/api/v1/families/{theirs.pk}/").status_code == 404
    assert api("patch", f"/api/v1/families/{theirs.pk}/", {"name": "X"}).status_code == 404
    assert api("delete", f"/api/v1/families/{theirs.pk}/").status_code == 404
    assert api("get", "/api/v1/students/by-external-id/S-1/").status_code == 404
    assert api("patch", f"/api/v1/students/{their_student.pk}/", {"level": "x"}).status_code == 404
    assert api("delete", f"/api/v1/guardians/{their_guardian.pk}/").status_code == 404
    assert (
        api(
            "put", f"/api/v1/families/{theirs.pk}/numbers/Mother%20cell/", {"number": "2025550123"}
        ).status_code
        == 404
    )
    # A student put into "their" family by id is refused: their family is not ours.
    refused = api("post", "/api/v1/students/", {"first_name": "Bo", "family": theirs.pk})
    assert refused.status_code == 400
    assert refused.json() == {"family": ["No such family in your organization."]}
    # Our F-1 is a family of our own, and theirs is untouched.
    assert api("put", URL, {"name": "Ours"}).status_code == 201
    theirs.refresh_from_db()
    their_student.refresh_from_db()
    assert theirs.name == "Theirs" and their_student.status == "active"
    assert other_api("get", URL).json()["name"] == "Theirs"
    assert Family.objects.for_org(org).get().name == "Ours"


def test_unknown_keys_types_and_external_ids_are_400(api):
    assert api("put", URL, {"name": ["a"]}).status_code == 400
    assert api("put", URL, {"guardians": "nope"}).status_code == 400
    assert api(
        "put", "/api/v1/families/by-external-id/" + "x" * 101 + "/", {"name": "A"}
    ).json() == {"external_id": ["Keep the external id to 100 characters or fewer."]}
    nameless = api("put", URL, {"status": "active"})
    assert nameless.status_code == 400 and nameless.json() == {"name": ["This field is required."]}
    noid = api("put", URL, {"name": "A", "students": [{"first_name": "Ana"}]})
    assert noid.status_code == 400
    assert "external id" in noid.json()["students"][0]["external_id"][0]


def test_the_browser_session_may_write_too(staff_client, org):
    response = staff_client.put(
        URL, data=json.dumps({"name": "Rivera"}), content_type="application/json"
    )
    assert response.status_code == 201


def test_a_post_without_an_external_id_never_updates_a_page_made_family(api, org):
    FamilyFactory(organization=org, name="Page-made")  # its external id is blank
    response = api("post", "/api/v1/families/", {})
    assert response.status_code == 400
    assert response.json() == {"name": ["This field is required."]}
    assert Family.objects.get().name == "Page-made"


def test_export_errors_are_json_whatever_the_client_accepts(admin_client):
    response = admin_client.get("/api/v1/export/nope/?format=csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
