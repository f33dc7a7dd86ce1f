"""Canada (CASL): a family policy is published only with the business's mailing address and
a contact in it; elsewhere nothing changes. A refusal publishes nothing."""

import html

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from families.models import FamilyPolicy
from families.services import policy_publish
from tests.factories import OrganizationFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db
ADDRESS = "4500 River Road, Vancouver, BC V6B 1A1"
GOOD = (
    "Maple Swim texts you about classes and closures. Reply STOP to stop. Questions: "
    "hello@maple.test. Our mailing address: 4500 River Road\nVancouver BC V6B 1A1."
)


@pytest.fixture
def maple(db):
    return OrganizationFactory(name="Maple Swim", country="CA", mailing_address=ADDRESS,
                               contact_email="hello@maple.test")


def test_a_canadian_policy_with_address_and_contact_is_published(maple):
    assert policy_publish(organization=maple, text=GOOD, actor=None).version == 1


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("We text about closures. Email hello@maple.test.", "mailing address (“4500 River Road"),
        ("We text about closures. 4500 River Road, Vancouver, BC V6B 1A1.", "a contact"),
    ],
)
def test_a_canadian_policy_without_a_part_is_refused_and_nothing_is_published(
    maple, text, missing
):
    with pytest.raises(ValidationError, match="CASL") as refused:
        policy_publish(organization=maple, text=text, actor=None)
    assert missing in refused.value.messages[0]
    assert not FamilyPolicy.objects.exists()


def test_without_an_address_on_file_it_says_where_to_enter_it(db):
    org = OrganizationFactory(name="Maple Swim", country="CA", mailing_address="")
    with pytest.raises(ValidationError, match="Message options"):
        policy_publish(organization=org, text=GOOD, actor=None)


def test_elsewhere_the_policy_needs_neither(db):
    org = OrganizationFactory(country="US", mailing_address="")
    assert policy_publish(organization=org, text="We text about closures.", actor=None)


def test_the_policy_page_says_what_is_needed_and_refuses_with_the_reason(maple):
    client = Client()
    client.force_login(StaffMemberFactory(organization=maple, role="admin").user)
    page = html.unescape(client.get("/settings/family-policies/").content.decode())
    assert "Canada's anti-spam law (CASL): the policy must give your mailing address" in page
    response = client.post("/settings/family-policies/", {"text": "We text about closures."})
    assert response.status_code == 400
    assert "CASL" in html.unescape(response.content.decode())
    assert not FamilyPolicy.objects.exists()
    ok = client.post("/settings/family-policies/", {"text": GOOD})
    assert ok.status_code == 302 and FamilyPolicy.objects.get().text == GOOD
