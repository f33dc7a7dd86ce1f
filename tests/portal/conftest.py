import pytest
from django.test import Client

from families.models import Guardian
from tests.factories import (
    FamilyFactory,
    FamilyPolicyFactory,
    GuardianFactory,
    PhoneFieldFactory,
    PhoneNumberFactory,
    SendingNumberFactory,
    UserFactory,
)


def parent_of(family, email: str) -> Guardian:
    """A guardian of ``family`` with a portal login (password tests.factories.PASSWORD)."""
    user = UserFactory(username=email)
    return GuardianFactory(family=family, email=email, user=user, first_name="Maria")


@pytest.fixture
def family(org):
    return FamilyFactory(organization=org, name="Rivera")


@pytest.fixture
def guardian(family) -> Guardian:
    return parent_of(family, "maria@example.test")


@pytest.fixture
def parent_client(guardian) -> Client:
    client = Client()
    client.force_login(guardian.user)
    return client


@pytest.fixture
def mother(org):
    return PhoneFieldFactory(organization=org, label="Mother cell", order=1, required=True)


@pytest.fixture
def emergency(org):
    return PhoneFieldFactory(organization=org, label="Emergency", order=2)


@pytest.fixture
def mobile(family, mother):
    return PhoneNumberFactory(family=family, field=mother, e164="+12025550111")


@pytest.fixture
def policy(org):
    return FamilyPolicyFactory(
        organization=org, version=1, text="Demo Gym texts about closures. Reply STOP to stop."
    )


@pytest.fixture
def sending_number(org):
    return SendingNumberFactory(organization=org, e164="+14155550123", status="active")


# --- another organization, to prove nothing of it leaks ---


@pytest.fixture
def other_family(other_org):
    return FamilyFactory(organization=other_org, name="Okafor")


@pytest.fixture
def other_guardian(other_family) -> Guardian:
    return parent_of(other_family, "chidi@example.test")


@pytest.fixture
def other_number(other_family, other_org):
    field = PhoneFieldFactory(organization=other_org, label="Dad cell", order=1)
    return PhoneNumberFactory(family=other_family, field=field, e164="+13125550177")
