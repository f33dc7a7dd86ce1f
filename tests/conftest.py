import pytest
from django.test import Client

from smsvoice.models import StaffMember
from tests.factories import OrganizationFactory, StaffMemberFactory


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Demo Gym")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Other Gym")


@pytest.fixture
def staff_member(org):
    return StaffMemberFactory(organization=org, role=StaffMember.Role.STAFF)


@pytest.fixture
def admin_member(org):
    return StaffMemberFactory(organization=org, role=StaffMember.Role.ADMIN, title="Owner")


@pytest.fixture
def staff_client(staff_member) -> Client:
    client = Client()
    client.force_login(staff_member.user)
    return client


@pytest.fixture
def admin_client(admin_member) -> Client:
    client = Client()
    client.force_login(admin_member.user)
    return client


@pytest.fixture
def other_staff_client(other_org) -> Client:
    client = Client()
    client.force_login(StaffMemberFactory(organization=other_org, role="admin").user)
    return client
