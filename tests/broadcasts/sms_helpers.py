"""Shared set-up for the SMS broadcast tests: an organization that can send, families with
numbers in every consent state, credits, and the Celery app running tasks in-process."""

from __future__ import annotations

from families.models import ConsentEvent, Family, OptOut, PhoneField
from families.selection import Selection
from families.services import consent_record
from smsvoice.models import Organization
from tests.factories import (
    FamilyFactory,
    GuardianFactory,
    PhoneFieldFactory,
    PhoneNumberFactory,
    SendingNumberFactory,
    StudentFactory,
    fictional_number,
)

_numbers = iter(range(10_000))


def next_number() -> str:
    return fictional_number(next(_numbers) % 1000)


def give_credits(org: Organization, credits: int) -> None:
    from credits.services import credits_adjust

    credits_adjust(organization=org, credits=credits, memo="test credits", actor=None)


def balance(org: Organization) -> int:
    from credits.selectors import credits_balance

    return credits_balance(organization=org)


def sender_ready(org: Organization, *, credits: int = 1000, e164: str = "+14155550100"):
    """Credits, a sending number, and a carrier path approved (broadcasts.readiness)."""
    from tests.broadcasts.readiness_helpers import texting_approved

    give_credits(org, credits)
    number = SendingNumberFactory(organization=org, e164=e164)
    texting_approved(org, number)
    return number


def family_with_number(
    org: Organization,
    *,
    opted_in: bool = True,
    text_capable: bool = True,
    e164: str | None = None,
    field: PhoneField | None = None,
    name: str | None = None,
    guardian: str = "Ana",
) -> Family:
    family = FamilyFactory(organization=org, **({"name": name} if name else {}))
    GuardianFactory(family=family, first_name=guardian)
    field = (
        field
        or PhoneField.objects.for_org(org).first()
        or PhoneFieldFactory(organization=org, label="Mother cell")
    )
    number = PhoneNumberFactory(
        family=family, field=field, e164=e164 or next_number(), text_capable=text_capable
    )
    if opted_in:
        consent_record(
            phone_number=number,
            opted_in=True,
            source=ConsentEvent.Source.STAFF_WITH_CONSENT,
            note="test",
        )
    return family


def unsubscribe(org: Organization, e164: str) -> None:
    OptOut.objects.create(organization=org, e164=e164)


def families_selection(*families: Family) -> Selection:
    return Selection(kind="families", ids=frozenset(f.pk for f in families))


def student_of(family: Family, first_name: str):
    return StudentFactory(family=family, first_name=first_name)
