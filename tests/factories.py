"""factory-boy factories for every model the tests build. Phone numbers are in the fictional
555-01XX range."""

import factory
from django.contrib.auth import get_user_model

from families.models import (
    Family,
    FamilyPolicy,
    Guardian,
    Location,
    PhoneField,
    PhoneNumber,
    Program,
    Student,
)
from smsvoice.models import Organization, StaffMember

PASSWORD = "correct-horse-battery-staple"
# Not 415: the sending numbers of the tests are +1 415-555-01XX, and a family's number that
# came round to one of them would be left out as the organization's own.
AREA_CODES = (202, 212, 213, 312, 510, 617, 646, 718, 305, 404)


def fictional_number(n: int) -> str:
    """The n-th distinct US number in the 555-0100..0199 range reserved for fiction."""
    return f"+1{AREA_CODES[(n // 100) % len(AREA_CODES)]}555{100 + n % 100:04d}"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Gym {n}")
    country = Organization.Country.US
    time_zone = "America/New_York"
    contact_phone = "+12025550100"
    contact_email = factory.Sequence(lambda n: f"office{n}@gym.test")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.test")
    email = factory.SelfAttribute("username")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMember

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    first_name = factory.Sequence(lambda n: f"Coach{n}")
    last_name = "Smith"
    title = "Coach"
    role = StaffMember.Role.STAFF


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Location {n}")


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Program {n}")


class FamilyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Family

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Family {n:04d}")


class GuardianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guardian

    family = factory.SubFactory(FamilyFactory)
    organization = factory.SelfAttribute("family.organization")
    first_name = factory.Sequence(lambda n: f"Parent{n}")
    last_name = factory.SelfAttribute("family.name")
    email = factory.Sequence(lambda n: f"parent{n}@example.test")


class StudentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Student

    family = factory.SubFactory(FamilyFactory)
    organization = factory.SelfAttribute("family.organization")
    first_name = factory.Sequence(lambda n: f"Kid{n}")
    last_name = "Student"
    level = "Level 1"


class PhoneFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhoneField

    organization = factory.SubFactory(OrganizationFactory)
    label = factory.Sequence(lambda n: f"Phone {n}")
    order = factory.Sequence(lambda n: n)


class PhoneNumberFactory(factory.django.DjangoModelFactory):
    """A family's number in a template field; pass staff_member=... (and family=None,
    field=None) for a staff number."""

    class Meta:
        model = PhoneNumber

    family = factory.SubFactory(FamilyFactory)
    organization = factory.SelfAttribute("family.organization")
    field = factory.SubFactory(
        PhoneFieldFactory, organization=factory.SelfAttribute("..organization")
    )
    e164 = factory.Sequence(lambda n: fictional_number(n))
    text_capable = True


class FamilyPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FamilyPolicy

    organization = factory.SubFactory(OrganizationFactory)
    version = factory.Sequence(lambda n: n + 1)
    text = "We text about closures, schedule changes and events. Reply STOP to opt out."


class SendingNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "broadcasts.SendingNumber"

    organization = factory.SubFactory(OrganizationFactory)
    e164 = factory.Sequence(lambda n: f"+1415555{100 + n % 100:04d}")
    provider_sid = factory.Sequence(lambda n: f"PN{n:032x}")
    messages_per_second = 1000
