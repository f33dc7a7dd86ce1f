"""manage.py consent_audit: clean on the demo data and after every consent route; failing,
naming the number, when a state no longer agrees with its events."""

import io

import pytest
from django.core.management import CommandError, call_command

from broadcasts.models import VoiceOptOut
from broadcasts.sms.optouts import carrier_opt_out
from broadcasts.sms.replies import inbound_sms_handle
from families.models import OptOut, PhoneNumber
from tests.broadcasts.sms_helpers import family_with_number
from tests.factories import SendingNumberFactory

pytestmark = pytest.mark.django_db
SENDING = "+14155550100"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def audit() -> str:
    out = io.StringIO()
    call_command("consent_audit", stdout=out)
    return out.getvalue()


def test_it_is_clean_on_the_demo_data():
    call_command("seed_demo", stdout=io.StringIO())
    assert OptOut.objects.exists() and PhoneNumber.objects.filter(sms_opt_in=True).exists()
    assert audit().startswith("OK: every state agrees with its events (2 organization(s)")


def test_it_is_clean_after_every_route(org):
    SendingNumberFactory(organization=org, e164=SENDING)
    numbers = [family_with_number(org).phone_numbers.get().e164 for _ in range(5)]
    for e164, body in zip(
        numbers[:4], ["STOP", "stop texting me", "stop calling", "START"], strict=True
    ):
        inbound_sms_handle(to_e164=SENDING, from_e164=e164, body=body)
    inbound_sms_handle(to_e164=SENDING, from_e164=numbers[0], body="START")
    carrier_opt_out(organization=org, e164=numbers[4])
    assert "OK" in audit()


def test_a_tampered_opt_in_fails_naming_the_number():
    call_command("seed_demo", stdout=io.StringIO())
    number = PhoneNumber.objects.filter(sms_opt_in=False, text_capable=True).first()
    PhoneNumber.objects.filter(pk=number.pk).update(sms_opt_in=True)
    with pytest.raises(CommandError, match="disagreement"):
        audit()


def test_a_lost_stop_and_a_call_opt_out_without_evidence_fail(org):
    SendingNumberFactory(organization=org, e164=SENDING)
    e164 = family_with_number(org).phone_numbers.get().e164
    inbound_sms_handle(to_e164=SENDING, from_e164=e164, body="STOP")
    OptOut.objects.filter(e164=e164).delete()
    VoiceOptOut.objects.create(organization=org, e164="+12025550177")
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 disagreement"):
        call_command("consent_audit", stdout=io.StringIO(), stderr=err)
    assert f"{e164} revoked (keyword) but is not on the STOP list" in err.getvalue()
    assert "+12025550177 asked not to be called" in err.getvalue()
