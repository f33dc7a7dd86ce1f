"""registration_blocker: which organizations may text on their carrier path, and the words
that say why not."""

from datetime import UTC, datetime

import pytest

from broadcasts.models import RegistrationStep
from broadcasts.registration.readiness import registration_blocker
from smsvoice.models import Organization
from tests.factories import SendingNumberFactory

Step = RegistrationStep

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_twilio(settings):
    settings.SMS_BACKEND = "twilio"


def step(org, kind, status, **fields):
    return Step.objects.create(organization=org, kind=kind, status=status, **fields)


def test_the_outbox_is_approved_by_construction(org, settings):
    settings.SMS_BACKEND = "outbox"
    assert registration_blocker(organization=org) is None


@pytest.mark.parametrize("country", [Organization.Country.CA, Organization.Country.AU])
def test_canada_and_australia_need_no_10dlc_registration(org, on_twilio, country):
    org.country = country
    org.save()
    assert registration_blocker(organization=org) is None


def test_a_us_organization_with_nothing_registered_is_told_where_to_register(org, on_twilio):
    text = registration_blocker(organization=org)
    assert text == (
        "Texting needs your business registered with US carriers: "
        "Settings > SMS & Voice > Texting registration."
    )


def test_a_submitted_registration_says_when_it_was_submitted(org, on_twilio):
    submitted = datetime(2026, 11, 3, 15, tzinfo=UTC)
    step(org, Step.Kind.BRAND, Step.Status.IN_REVIEW, submitted_at=submitted)
    step(org, Step.Kind.CAMPAIGN, Step.Status.SUBMITTED, submitted_at=submitted)
    assert registration_blocker(organization=org) == (
        "Texting is waiting for carrier approval of your registration, submitted 3 Nov."
    )


def test_approved_brand_and_campaign_let_a_local_number_text(org, on_twilio):
    SendingNumberFactory(organization=org, e164="+12025550111")
    step(org, Step.Kind.BRAND, Step.Status.APPROVED)
    step(org, Step.Kind.CAMPAIGN, Step.Status.APPROVED)
    assert registration_blocker(organization=org) is None


def test_a_failed_campaign_blocks_and_points_to_what_to_change(org, on_twilio):
    step(org, Step.Kind.BRAND, Step.Status.APPROVED)
    step(org, Step.Kind.CAMPAIGN, Step.Status.FAILED, error_code=30544)
    assert "turned down your registration (campaign)" in registration_blocker(organization=org)


def test_a_toll_free_number_needs_its_verification_not_10dlc(org, on_twilio):
    SendingNumberFactory(organization=org, e164="+18885550123")
    step(org, Step.Kind.BRAND, Step.Status.APPROVED)
    step(org, Step.Kind.CAMPAIGN, Step.Status.APPROVED)
    assert "toll-free number verified" in registration_blocker(organization=org)
    step(org, Step.Kind.TOLLFREE, Step.Status.APPROVED)
    assert registration_blocker(organization=org) is None


def test_another_organizations_approval_does_not_count(org, other_org, on_twilio):
    step(other_org, Step.Kind.BRAND, Step.Status.APPROVED)
    step(other_org, Step.Kind.CAMPAIGN, Step.Status.APPROVED)
    assert registration_blocker(organization=org) is not None
