import pytest
from django.core.exceptions import ValidationError

from families.phones import phone_display, phone_parse
from families.services import family_phone_set, staff_phone_add
from tests.factories import (
    FamilyFactory,
    OrganizationFactory,
    PhoneFieldFactory,
    StaffMemberFactory,
)


@pytest.mark.parametrize(
    ("raw", "country", "e164"),
    [
        ("202-555-0123", "US", "+12025550123"),
        ("(202) 555 0123", "US", "+12025550123"),
        ("+1 202 555 0123", "US", "+12025550123"),
        ("(604) 555-0123", "CA", "+16045550123"),
        ("0412 345 678", "AU", "+61412345678"),
    ],
)
def test_numbers_are_stored_in_e164(raw, country, e164):
    assert phone_parse(raw, country=country) == e164


@pytest.mark.parametrize(
    ("raw", "country", "message"),
    [
        ("(555) 0100", "US", "(555) 0100 is not a valid US number."),
        ("hello", "US", "hello is not a valid US number."),
        ("+44 20 7946 0018", "US", "+44 20 7946 0018 is not a valid US number."),
        ("+1 604 555 0123", "US", "+1 604 555 0123 is not a valid US number."),
        ("2025550123", "CA", "2025550123 is not a valid CA number."),
        ("   ", "US", "Enter a phone number."),
    ],
)
def test_a_number_not_of_the_organizations_country_is_refused_with_a_clear_message(
    raw, country, message
):
    with pytest.raises(ValidationError) as caught:
        phone_parse(raw, country=country)
    assert caught.value.messages == [message]


def test_numbers_are_shown_in_their_national_format():
    assert phone_display("+12025550123") == "(202) 555-0123"
    assert phone_display("+61412345678") == "0412 345 678"


@pytest.mark.django_db
def test_an_australian_organization_validates_against_australia():
    org = OrganizationFactory(country="AU", time_zone="Australia/Sydney")
    family = FamilyFactory(organization=org)
    field = PhoneFieldFactory(organization=org)
    number = family_phone_set(
        family=family, field=field, raw="0412 345 678", text_capable=None, actor=None
    )
    assert number.e164 == "+61412345678"
    with pytest.raises(ValidationError, match="is not a valid AU number"):
        family_phone_set(
            family=family, field=field, raw="(202) 555-0123", text_capable=None, actor=None
        )
    number.refresh_from_db()
    assert number.e164 == "+61412345678"


@pytest.mark.django_db
def test_an_australian_landline_is_guessed_not_text_capable():
    org = OrganizationFactory(country="AU", time_zone="Australia/Sydney")
    number = family_phone_set(
        family=FamilyFactory(organization=org),
        field=PhoneFieldFactory(organization=org),
        raw="(02) 9876 5432",
        text_capable=None,
        actor=None,
    )
    assert number.text_capable is False


@pytest.mark.django_db
def test_a_staff_number_is_validated_the_same_way(org):
    member = StaffMemberFactory(organization=org)
    with pytest.raises(ValidationError, match=r"^\['\(555\) 0100 is not a valid US number\.'\]$"):
        staff_phone_add(staff_member=member, raw="(555) 0100", label="Cell", text_capable=True)
    assert not member.phone_numbers.exists()
