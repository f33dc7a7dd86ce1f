"""A guardian sees only their own family: ids of another family's rows in a URL are 404, and
nothing of another family or organization is ever on a portal page."""

import pytest
from django.urls import reverse

from families.models import ConsentEvent, PhoneNumber
from tests.factories import (
    FamilyFactory,
    FamilyPolicyFactory,
    GuardianFactory,
    PhoneNumberFactory,
    StudentFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def neighbour_number(org, mother):
    """A number of another family of the same organization."""
    neighbours = FamilyFactory(organization=org, name="Nguyen")
    GuardianFactory(family=neighbours, first_name="Linh", email="linh@example.test")
    StudentFactory(family=neighbours, first_name="Bao")
    return PhoneNumberFactory(family=neighbours, field=mother, e164="+12025550188")


def number_urls(number) -> list[tuple[str, str]]:
    return [
        ("get", reverse("portal:texts_yes", args=[number.pk])),
        ("post", reverse("portal:texts_yes", args=[number.pk])),
        ("post", reverse("portal:texts_no", args=[number.pk])),
    ]


def test_another_familys_number_of_the_same_organization_is_a_404(
    parent_client, neighbour_number, policy
):
    for method, url in number_urls(neighbour_number):
        response = getattr(parent_client, method)(url, {"confirm": "on", "policy_version": 1})
        assert response.status_code == 404, (method, url)
    neighbour_number.refresh_from_db()
    assert neighbour_number.sms_opt_in is False
    assert not ConsentEvent.objects.exists()


def test_another_organizations_number_is_a_404(parent_client, other_number, policy):
    for method, url in number_urls(other_number):
        response = getattr(parent_client, method)(url, {"confirm": "on", "policy_version": 1})
        assert response.status_code == 404, (method, url)
    assert not ConsentEvent.objects.exists()


def test_a_staff_number_is_a_404(parent_client, staff_member, policy):
    staff_number = PhoneNumber.objects.create(
        organization=staff_member.organization,
        staff_member=staff_member,
        e164="+12025550166",
    )
    for method, url in number_urls(staff_number):
        assert getattr(parent_client, method)(url).status_code == 404


def test_the_page_shows_nothing_of_other_families(
    parent_client, neighbour_number, other_number, other_guardian, mobile
):
    page = parent_client.get("/portal/").content.decode()
    assert "(202) 555-0111" in page
    for foreign in (
        "(202) 555-0188",
        "Nguyen",
        "Linh",
        "Bao",
        "(312) 555-0177",
        "Okafor",
        other_guardian.email,
        "Dad cell",
        "Other Gym",
    ):
        assert foreign not in page


def test_each_organizations_guardian_sees_their_own_template_and_policy(
    parent_client, other_guardian, other_number, other_org, policy, client
):
    FamilyPolicyFactory(organization=other_org, version=1, text="Other Gym's own policy.")
    client.force_login(other_guardian.user)
    theirs = client.get(reverse("portal:policies")).content.decode()
    assert "Other Gym's own policy." in theirs.replace("&#x27;", "'")
    assert "Demo Gym texts about closures" not in theirs
    ours = parent_client.get(reverse("portal:policies")).content.decode()
    assert "Demo Gym texts about closures" in ours
    assert "Other Gym" not in ours
    their_page = client.get("/portal/").content.decode()
    assert "Dad cell" in their_page
    assert "Mother cell" not in their_page


def test_a_guardian_removed_by_staff_loses_the_portal(parent_client, guardian):
    guardian.delete()
    response = parent_client.get("/portal/")
    assert response.status_code == 403
