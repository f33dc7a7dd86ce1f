"""The directory as CSV: content, consent states, tenancy, streaming, formula neutralisation."""

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from families.export import cell
from families.models import ConsentEvent, OptOut, PhoneNumber
from families.services import consent_record
from smsvoice.api_keys import api_key_create
from tests.factories import (
    FamilyFactory,
    GuardianFactory,
    PhoneFieldFactory,
    StaffMemberFactory,
    StudentFactory,
)

pytestmark = pytest.mark.django_db


def _rows(response) -> list[list[str]]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.fixture
def directory(org, other_org):
    field = PhoneFieldFactory(organization=org, label="Mother cell")
    family = FamilyFactory(organization=org, name="Rivera", external_id="F-1")
    GuardianFactory(family=family, first_name="Maria", last_name="Rivera", email="m@example.test")
    StudentFactory(family=family, first_name="Ana", last_name="Rivera", external_id="S-1")
    number = PhoneNumber.objects.create(
        organization=org, family=family, field=field, e164="+12025550123"
    )
    consent_record(phone_number=number, opted_in=True, source="api", note="enrollment form")
    stopped = FamilyFactory(organization=org, name='=HYPERLINK("http://x")')
    PhoneNumber.objects.create(organization=org, family=stopped, field=field, e164="+12025550124")
    OptOut.objects.create(organization=org, e164="+12025550124")
    StaffMemberFactory(organization=org, first_name="@Coach", last_name="-Kim", title="+1+1")
    FamilyFactory(organization=other_org, name="Theirs")
    return family


def test_cells_a_spreadsheet_would_run_are_neutralised():
    assert cell("=1+1") == "'=1+1"
    assert cell("+SUM(A1)") == "'+SUM(A1)"
    assert cell("-2+3") == "'-2+3"
    assert cell("@cmd") == "'@cmd"
    assert cell("\t=x") == "'\t=x"
    assert cell("+12025550123") == "+12025550123"  # a plain number runs as nothing else
    assert cell("Rivera") == "Rivera" and cell(None) == "" and cell(True) == "yes"


def test_the_families_file_has_numbers_and_consent_per_template_field(admin_client, directory):
    rows = _rows(admin_client.get(reverse("families:export", args=["families"])))
    header = rows[0]
    assert header[-2:] == ["Mother cell", "Mother cell: texts"]
    by_name = {row[2]: row for row in rows[1:]}
    assert set(by_name) == {"Rivera", '\'=HYPERLINK("http://x")'}
    rivera = dict(zip(header, by_name["Rivera"], strict=True))
    assert rivera["external_id"] == "F-1"
    assert rivera["guardians"] == "Maria Rivera <m@example.test>"
    assert rivera["students"] == "Ana Rivera"
    assert (rivera["Mother cell"], rivera["Mother cell: texts"]) == ("+12025550123", "opted in")
    assert by_name['\'=HYPERLINK("http://x")'][-1] == "replied STOP"


def test_the_numbers_file_says_each_numbers_consent_and_its_evidence(admin_client, directory):
    rows = _rows(admin_client.get(reverse("families:export", args=["numbers"])))
    header = rows[0]
    found = {row[header.index("number")]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    opted = found["+12025550123"]
    assert (opted["consent"], opted["consent_source"]) == ("opted in", "api")
    assert opted["consent_note"] == "enrollment form" and opted["family_external_id"] == "F-1"
    assert found["+12025550124"]["consent"] == "replied STOP"
    assert ConsentEvent.objects.count() == 1


def test_students_and_staff_files(admin_client, directory):
    students = _rows(admin_client.get(reverse("families:export", args=["students"])))
    assert students[1][:4] == [str(directory.students.get().pk), "S-1", "Ana", "Rivera"]
    staff = _rows(admin_client.get(reverse("families:export", args=["staff"])))
    coach = next(row for row in staff[1:] if row[1] == "'@Coach")
    assert coach[2:4] == ["'-Kim", "'+1+1"]


def test_export_is_for_admins_of_the_organization_only(staff_client, admin_client, directory):
    assert staff_client.get(reverse("families:export", args=["families"])).status_code == 403
    assert admin_client.get("/settings/export/nope.csv").status_code == 404
    text = b"".join(
        admin_client.get(reverse("families:export", args=["families"])).streaming_content
    ).decode()
    assert "Theirs" not in text


def test_the_api_exports_with_a_read_key(admin_member, directory):
    full = api_key_create(
        organization=admin_member.organization, name="r", scopes=["read"], created_by=admin_member
    )[1]
    response = Client().get("/api/v1/export/numbers/", HTTP_AUTHORIZATION=f"Bearer {full}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _rows(response)
    assert len(rows) == 3  # header and the two numbers of our organization
    write = api_key_create(
        organization=admin_member.organization, name="w", scopes=["write"], created_by=admin_member
    )[1]
    assert (
        Client().get("/api/v1/export/numbers/", HTTP_AUTHORIZATION=f"Bearer {write}").status_code
        == 403
    )
    assert (
        Client().get("/api/v1/export/nope/", HTTP_AUTHORIZATION=f"Bearer {full}").status_code == 404
    )
