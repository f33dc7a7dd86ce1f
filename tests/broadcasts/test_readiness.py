"""The sending-readiness gate: every refusal (no number, no Messaging Service, registration,
no credits) with nothing created or charged; the compose window and the API say it before
anyone types; the checklist on Settings > SMS & Voice."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.urls import reverse

from broadcasts.models import Broadcast, MessagingService, Recipient
from broadcasts.readiness import readiness_checks, sms_refusal
from broadcasts.recipients import BroadcastRefused
from broadcasts.registration.models import RegistrationStep
from broadcasts.sms.compose import broadcast_create, broadcast_preview
from credits.models import CreditAccount, LedgerEntry
from families.selection import selection_to_session
from smsvoice.models import Organization
from tests.broadcasts.readiness_helpers import texting_approved
from tests.broadcasts.sms_helpers import (
    balance,
    families_selection,
    family_with_number,
    give_credits,
)
from tests.factories import SendingNumberFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db
Step = RegistrationStep


@pytest.fixture
def on_twilio(settings):
    # The gate asks nothing of Twilio: the backend only says which rules apply.
    settings.SMS_BACKEND = "twilio"


@pytest.fixture
def on_outbox(settings):
    settings.SMS_BACKEND = "outbox"


def service_ready(org, number) -> MessagingService:
    return MessagingService.objects.create(
        organization=org,
        sid="MG" + "1" * 32,
        state=MessagingService.State.READY,
        pool_number_sid=number.provider_sid,
        pool_e164=number.e164,
    )


def assert_refused_with_nothing_charged(org, said: str) -> None:
    give_before = balance(org)
    ledger_before = LedgerEntry.objects.filter(organization=org).count()
    family = family_with_number(org)
    with pytest.raises(BroadcastRefused) as refused:
        broadcast_create(
            organization=org,
            sender=StaffMemberFactory(organization=org),
            selection=families_selection(family),
            text="Gym closed today",
        )
    assert said in str(refused.value)
    assert Broadcast.objects.filter(organization=org).count() == 0
    assert Recipient.objects.count() == 0
    assert balance(org) == give_before
    assert LedgerEntry.objects.filter(organization=org).count() == ledger_before


def test_no_sending_number_refuses(org, on_outbox):
    give_credits(org, 100)
    assert sms_refusal(organization=org).startswith("There is no sending number yet")
    assert_refused_with_nothing_charged(org, "no sending number")


def test_a_number_outside_a_ready_messaging_service_refuses(org, on_twilio):
    give_credits(org, 100)
    SendingNumberFactory(organization=org)
    assert "Messaging Service" in sms_refusal(organization=org)
    assert_refused_with_nothing_charged(org, "Texting is not set up yet")


def test_a_service_whose_pool_holds_another_number_refuses(org, on_twilio):
    give_credits(org, 100)
    number = SendingNumberFactory(organization=org)
    service = service_ready(org, number)
    service.pool_number_sid = "PN" + "9" * 32
    service.save()
    assert_refused_with_nothing_charged(org, "Texting is not set up yet")


def test_an_unregistered_us_organization_is_refused_with_the_registration_step(org, on_twilio):
    give_credits(org, 100)
    service_ready(org, SendingNumberFactory(organization=org))
    assert_refused_with_nothing_charged(org, "Texting needs your business registered")


def test_a_registration_waiting_for_carriers_refuses_with_the_date_it_was_submitted(org, on_twilio):
    give_credits(org, 100)
    service_ready(org, SendingNumberFactory(organization=org))
    submitted = datetime.fromisoformat("2026-11-03T15:00:00+00:00")
    for kind in (Step.Kind.BRAND, Step.Kind.CAMPAIGN):
        Step.objects.create(
            organization=org, kind=kind, status=Step.Status.IN_REVIEW, submitted_at=submitted
        )
    assert sms_refusal(organization=org) == (
        "Texting is waiting for carrier approval of your registration, submitted 3 Nov."
    )
    assert_refused_with_nothing_charged(org, "waiting for carrier approval")


def test_no_credits_refuses(org, on_twilio):
    texting_approved(org, SendingNumberFactory(organization=org))
    assert sms_refusal(organization=org).startswith("There are no credits left")
    assert_refused_with_nothing_charged(org, "no credits left")


def test_an_approved_path_is_not_refused_and_a_card_is_not_needed_to_text(org, on_twilio):
    give_credits(org, 100)
    texting_approved(org, SendingNumberFactory(organization=org))
    assert sms_refusal(organization=org) is None
    card = next(c for c in readiness_checks(organization=org) if c.key == "card")
    assert not card.ok and not card.blocks_sending  # credits are prepaid: only buying needs it


def test_canadian_long_codes_need_no_registration(on_twilio, db):
    from tests.factories import OrganizationFactory

    org = OrganizationFactory(country=Organization.Country.CA, time_zone="America/Toronto")
    give_credits(org, 100)
    service_ready(org, SendingNumberFactory(organization=org))
    assert sms_refusal(organization=org) is None
    registration = next(c for c in readiness_checks(organization=org) if c.key == "registration")
    assert registration.ok
    assert registration.state == "Canadian long codes need no carrier registration."


def test_australian_numbers_need_no_registration(on_twilio, db):
    from tests.factories import OrganizationFactory

    org = OrganizationFactory(country=Organization.Country.AU, time_zone="Australia/Sydney")
    give_credits(org, 100)
    service_ready(org, SendingNumberFactory(organization=org, e164="+61491570006"))
    assert sms_refusal(organization=org) is None


def test_the_outbox_is_approved_by_construction(org, on_outbox):
    give_credits(org, 100)
    SendingNumberFactory(organization=org)  # no service row, no registration: the demo
    assert sms_refusal(organization=org) is None
    checks = {c.key: c for c in readiness_checks(organization=org)}
    assert checks["service"].ok and "Local (demo)" in checks["service"].state
    assert checks["registration"].ok


# --- the compose window and the API say it before anyone types -------------------------------


def select(client, selection) -> None:
    session = client.session
    selection_to_session(session, selection=selection)
    session.save()


def test_the_compose_window_shows_the_refusal_when_it_opens(staff_client, org, on_twilio):
    give_credits(org, 100)
    service_ready(org, SendingNumberFactory(organization=org))
    select(staff_client, families_selection(family_with_number(org)))

    page = staff_client.get(
        reverse("broadcasts:compose", args=["families"]), headers={"HX-Request": "true"}
    )

    html = page.content.decode()
    assert 'data-testid="not-ready"' in html
    assert "Texting needs your business registered with US carriers" in html
    assert "Ask an admin." in html  # staff, not admin
    assert 'id="send-button" disabled' in html
    assert html.count("Texting needs your business registered") == 1  # not again in the problems


def test_admins_get_a_link_to_what_to_do(admin_client, org, on_outbox):
    page = admin_client.get(reverse("broadcasts:compose", args=["families"]))
    html = page.content.decode()
    assert "There is no sending number yet" in html
    assert f'href="{reverse("credits:sms_voice_settings")}">See what to do' in html


def test_the_api_preview_and_create_say_the_same(staff_client, org, on_twilio):
    give_credits(org, 100)
    SendingNumberFactory(organization=org)
    selection = families_selection(family_with_number(org)).to_dict()
    expected = sms_refusal(organization=org)

    preview = staff_client.post(
        reverse("api-broadcast-preview"),
        {"selection": selection, "text": "Hello"},
        content_type="application/json",
    ).json()
    created = staff_client.post(
        reverse("api-broadcasts"),
        {"selection": selection, "text": "Hello"},
        content_type="application/json",
    )

    assert preview["refusal"] == expected and preview["problems"][0] == expected
    assert preview["can_send"] is False
    assert created.status_code == 400 and created.json()["detail"] == expected
    assert Broadcast.objects.count() == 0 and balance(org) == 100


def test_a_ready_preview_has_no_refusal(org, on_outbox):
    give_credits(org, 100)
    SendingNumberFactory(organization=org)
    family = family_with_number(org)
    preview = broadcast_preview(organization=org, selection=families_selection(family), text="Hi")
    assert preview.refusal == "" and preview.as_dict()["refusal"] is None and preview.can_send


# --- the checklist ---------------------------------------------------------------------------


def test_the_checklist_says_each_state_in_words_with_a_link_to_fix_it(admin_client, org, on_twilio):
    SendingNumberFactory(organization=org, e164="+14155550100")
    MessagingService.objects.create(
        organization=org, state=MessagingService.State.FAILED, last_error="Twilio said: down"
    )

    html = admin_client.get(reverse("credits:sms_voice_settings")).content.decode()

    assert "Not yet: text broadcasts are refused" in html
    assert "No card yet" in html and f'href="{reverse("credits:card")}"' in html
    assert "(415) 555-0100" in html
    assert "Setting it up failed: Twilio said: down" in html
    assert f'action="{reverse("broadcasts:messaging_service")}"' in html
    assert "Texting needs your business registered with US carriers" in html
    assert "No credits left." in html and f'href="{reverse("credits:buy")}"' in html
    assert html.count("badge off\">Blocks texting") == 3  # service, registration, credits


def test_the_checklist_is_all_done_for_a_ready_organization(admin_client, org, on_outbox):
    give_credits(org, 20)
    CreditAccount.objects.filter(organization=org).update(
        card_payment_method_id="pm_test", card_brand="visa", card_last4="4242"
    )
    SendingNumberFactory(organization=org)
    html = admin_client.get(reverse("credits:sms_voice_settings")).content.decode()
    assert "Yes: texts can go out on a path carriers accept." in html
    assert "Visa ending 4242." in html and "20 credits." in html
    assert "Blocks texting" not in html


def test_the_try_again_button_finishes_the_service(admin_client, org, twilio_standin):
    from broadcasts.providers import twilio as gateway

    bought = gateway.number_buy(
        phone_number="+14155550123",
        sms_url="https://a.example",
        voice_url="https://a.example",
        status_callback="https://a.example",
    )
    SendingNumberFactory(organization=org, e164=bought.phone_number, provider_sid=bought.sid)

    page = admin_client.post(reverse("broadcasts:messaging_service"), follow=True)

    assert "The Messaging Service is ready." in page.content.decode()
    service = MessagingService.objects.get(organization=org)
    assert twilio_standin.messaging.pool_of(service.sid) == ["+14155550123"]
