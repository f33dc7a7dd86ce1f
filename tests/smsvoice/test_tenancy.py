import pytest
from django.test import Client
from django.urls import reverse

from families.models import Family
from tests.factories import FamilyFactory, GuardianFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_it_runs_on_postgresql():
    from django.db import connection

    assert connection.vendor == "postgresql", "make test must run against PostgreSQL"


def test_anonymous_staff_page_redirects_to_login(client):
    response = client.get(reverse("families:family_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_guardian_cannot_open_the_staff_side(org):
    guardian = GuardianFactory(family=FamilyFactory(organization=org), user=UserFactory())
    client = Client()
    client.force_login(guardian.user)
    assert client.get(reverse("families:family_list")).status_code == 403


def test_staff_see_only_their_organizations_families(staff_client, org, other_org):
    FamilyFactory(organization=org, name="Ours")
    FamilyFactory(organization=other_org, name="Theirs")
    response = staff_client.get(reverse("families:family_list"))
    assert b"Ours" in response.content
    assert b"Theirs" not in response.content


def test_for_org_scopes_queries(org, other_org):
    FamilyFactory(organization=org)
    FamilyFactory(organization=other_org)
    assert list(Family.objects.for_org(org).values_list("organization", flat=True)) == [org.pk]
