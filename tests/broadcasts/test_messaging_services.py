"""The organization's Messaging Service against the Twilio stand-in: created with our callback
URLs, the sending number in its pool, texts sent through it, the pool kept in step when the
number is replaced or released (also when Twilio fails halfway), the migrate command, and
Australia's sender ID."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command
from django.urls import reverse

from broadcasts.messaging_services import (
    alpha_sender_set,
    messaging_service_ensure,
    messaging_services_sweep,
)
from broadcasts.models import Broadcast, MessagingService, SendingNumber
from broadcasts.numbers import sending_number_buy, sending_number_release
from broadcasts.readiness import sends_without_reply_path, sms_refusal
from broadcasts.recipients import BroadcastRefused
from broadcasts.registration.models import RegistrationStep
from broadcasts.sms.compose import broadcast_create
from credits.models import CreditAccount
from smsvoice.models import Organization
from tests.broadcasts.sms_helpers import families_selection, family_with_number, give_credits
from tests.factories import OrganizationFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db
State = MessagingService.State
SITE = "https://smsvoice.example.com"


@pytest.fixture
def twilio(twilio_standin, settings):
    settings.SITE_URL = SITE
    return twilio_standin


def card_on_file(org: Organization) -> None:
    give_credits(org, 100)
    CreditAccount.objects.filter(organization=org).update(card_payment_method_id="pm_test")


def approved(org: Organization) -> None:
    for kind in (RegistrationStep.Kind.BRAND, RegistrationStep.Kind.CAMPAIGN):
        RegistrationStep.objects.create(
            organization=org, kind=kind, status=RegistrationStep.Status.APPROVED
        )


def posts(standin, path_part: str) -> list:
    return [r for r in standin.requests if r.method == "POST" and path_part in r.path]


def test_buying_a_number_creates_the_service_with_our_callbacks_and_the_number_in_its_pool(
    org, twilio
):
    card_on_file(org)
    number = sending_number_buy(organization=org, phone_number="+14155550123")

    service = MessagingService.objects.get(organization=org)
    assert service.state == State.READY and service.sid.startswith("MG")
    at_twilio = twilio.messaging.services[service.sid]
    assert at_twilio.params["InboundRequestUrl"] == f"{SITE}/broadcasts/webhooks/twilio/sms/"
    assert at_twilio.params["InboundMethod"] == "POST"
    assert at_twilio.params["StatusCallback"] == f"{SITE}/broadcasts/webhooks/twilio/status/"
    assert at_twilio.params["FriendlyName"] == f"smsvoice org {org.pk}"
    assert twilio.messaging.pool_of(service.sid) == ["+14155550123"]
    assert number.messaging_service_sid == service.sid
    assert (service.pool_number_sid, service.pool_e164) == (number.provider_sid, number.e164)


def test_texts_go_out_through_the_service_with_no_from(
    org, twilio, django_capture_on_commit_callbacks
):
    from smsvoice.celery import app

    card_on_file(org)
    approved(org)
    sending_number_buy(organization=org, phone_number="+14155550123")
    family = family_with_number(org, e164="+12025550111")
    sender = StaffMemberFactory(organization=org)
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            broadcast = broadcast_create(
                organization=org,
                sender=sender,
                selection=families_selection(family),
                text="Gym closed today",
            )
    finally:
        app.conf.task_always_eager = False

    service = MessagingService.objects.get(organization=org)
    (sent,) = posts(twilio, "/Messages.json")
    assert sent.form["MessagingServiceSid"] == service.sid and "From" not in sent.form
    broadcast.refresh_from_db()
    assert broadcast.messaging_service_sid == service.sid
    assert broadcast.status == Broadcast.Status.DONE
    (message,) = twilio.messages.values()
    assert message.picked_from == "+14155550123"  # from the service's pool


def test_replacing_the_number_adds_the_new_one_to_the_pool_before_the_old_one_is_released(
    org, twilio
):
    card_on_file(org)
    old = sending_number_buy(organization=org, phone_number="+14155550123")
    new = sending_number_buy(organization=org, phone_number="+14155550124")

    service = MessagingService.objects.get(organization=org)
    assert twilio.messaging.pool_of(service.sid) == ["+14155550124"]
    assert old.provider_sid not in twilio.numbers  # given back to Twilio
    paths = [(r.method, r.path) for r in twilio.requests]
    added = paths.index(("POST", f"/v1/Services/{service.sid}/PhoneNumbers"), 3)
    released = paths.index(
        (
            "DELETE",
            f"/2010-04-01/Accounts/{twilio.account_sid}"
            f"/IncomingPhoneNumbers/{old.provider_sid}.json",
        )
    )
    assert added < released
    old.refresh_from_db()
    assert old.status == SendingNumber.Status.RELEASED and not old.provider_cleanup
    assert new.messaging_service_sid == service.sid and service.state == State.READY


def test_a_failure_halfway_through_a_replacement_is_finished_by_the_sweep(org, twilio):
    card_on_file(org)
    approved(org)
    old = sending_number_buy(organization=org, phone_number="+14155550123")
    twilio.messaging.fail_next("number_add", status=503)

    new = sending_number_buy(organization=org, phone_number="+14155550124")

    service = MessagingService.objects.get(organization=org)
    assert service.state == State.FAILED and "Twilio said" in service.last_error
    # The old number is neither out of the pool nor released while the new one is not in it.
    assert twilio.messaging.pool_of(service.sid) == ["+14155550123"]
    assert old.provider_sid in twilio.numbers
    assert SendingNumber.objects.get(pk=old.pk).provider_cleanup
    assert "Messaging Service" in sms_refusal(organization=org)

    assert messaging_services_sweep() == {"finished": 1, "failed": 0}

    service.refresh_from_db()
    assert service.state == State.READY and service.last_error == ""
    assert twilio.messaging.pool_of(service.sid) == ["+14155550124"]
    assert old.provider_sid not in twilio.numbers
    assert not SendingNumber.objects.get(pk=old.pk).provider_cleanup
    assert SendingNumber.objects.get(pk=new.pk).messaging_service_sid == service.sid
    assert sms_refusal(organization=org) is None


def test_releasing_the_number_takes_it_out_of_the_pool(org, twilio):
    card_on_file(org)
    number = sending_number_buy(organization=org, phone_number="+14155550123")
    sid = MessagingService.objects.get(organization=org).sid

    sending_number_release(organization=org)

    assert twilio.messaging.pool_of(sid) == []
    assert number.provider_sid not in twilio.numbers
    service = MessagingService.objects.get(organization=org)
    assert service.pool_number_sid == "" and service.state == State.PENDING
    assert sms_refusal(organization=org).startswith("There is no sending number yet")


def test_a_release_that_twilio_fails_is_left_for_the_sweep(org, twilio):
    card_on_file(org)
    number = sending_number_buy(organization=org, phone_number="+14155550123")
    sid = MessagingService.objects.get(organization=org).sid
    twilio.messaging.fail_next("number_remove", status=503)

    sending_number_release(organization=org)

    assert twilio.messaging.pool_of(sid) == ["+14155550123"]
    assert SendingNumber.objects.get(pk=number.pk).provider_cleanup
    assert messaging_services_sweep()["finished"] == 1
    assert twilio.messaging.pool_of(sid) == [] and number.provider_sid not in twilio.numbers
    assert not SendingNumber.objects.get(pk=number.pk).provider_cleanup


def test_a_create_whose_answer_was_lost_is_found_by_name_not_created_twice(org, twilio):
    from broadcasts.providers import twilio as gateway

    bought = gateway.number_buy(
        phone_number="+14155550123", sms_url=SITE, voice_url=SITE, status_callback=SITE
    )
    SendingNumber.objects.create(
        organization=org, e164=bought.phone_number, provider_sid=bought.sid
    )
    # What a crash after Twilio created the service, before we saved its sid, leaves behind:
    from django.utils import timezone

    from broadcasts.providers.twilio_messaging import service_create

    lost = service_create(
        friendly_name=f"smsvoice org {org.pk}", inbound_url=SITE, status_callback=SITE
    )
    MessagingService.objects.create(organization=org, create_attempted_at=timezone.now())

    service = messaging_service_ensure(organization=org)

    assert service.sid == lost.sid and service.state == State.READY
    assert len(twilio.messaging.services) == 1


def test_the_migrate_command_sets_up_existing_organizations_and_is_safe_to_run_twice(twilio):
    from broadcasts.providers import twilio as gateway

    orgs = [OrganizationFactory(), OrganizationFactory(), OrganizationFactory()]
    for i, org in enumerate(orgs[:2]):
        bought = gateway.number_buy(
            phone_number=f"+1415555013{i}", sms_url=SITE, voice_url=SITE, status_callback=SITE
        )
        SendingNumber.objects.create(
            organization=org, e164=bought.phone_number, provider_sid=bought.sid
        )

    call_command("messaging_services_migrate")
    first = {s.organization_id: s.sid for s in MessagingService.objects.all()}
    requests_after_first = len(twilio.requests)
    call_command("messaging_services_migrate")

    assert set(first) == {orgs[0].pk, orgs[1].pk}  # the third has no number: nothing to do
    assert {s.organization_id: s.sid for s in MessagingService.objects.all()} == first
    assert len(twilio.messaging.services) == 2
    assert len(twilio.requests) == requests_after_first  # the second run asked Twilio nothing
    for org in orgs[:2]:
        service = MessagingService.objects.get(organization=org)
        number = SendingNumber.objects.get(organization=org)
        assert service.state == State.READY and number.messaging_service_sid == service.sid
        assert twilio.messaging.pool_of(service.sid) == [number.e164]


# --- Australia: the alphanumeric sender ID ---------------------------------------------------


@pytest.fixture
def au_org(db):
    return OrganizationFactory(
        name="Bondi Swim", country=Organization.Country.AU, time_zone="Australia/Sydney"
    )


def au_ready(org, twilio, e164: str = "+61491570006") -> MessagingService:
    card_on_file(org)
    sending_number_buy(organization=org, phone_number=e164)
    return MessagingService.objects.get(organization=org)


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("", "Type the sender ID"),
        ("AB", "3 to 11 characters"),
        ("BondiSwimClub", "3 to 11 characters"),
        ("Bondi Swim", "only letters A-Z and digits"),
        ("Bondi-Swim", "only letters A-Z and digits"),
        ("12345", "at least one letter"),
    ],
)
def test_a_sender_id_is_3_to_11_letters_and_digits_with_a_letter(au_org, twilio, typed, said):
    service = au_ready(au_org, twilio)
    with pytest.raises(BroadcastRefused, match=said):
        alpha_sender_set(organization=au_org, alpha_sender=typed, registered=True, actor_label="A")
    assert twilio.messaging.services[service.sid].alpha_senders == {}
    assert not posts(twilio, "/AlphaSenders")


def test_a_sender_id_needs_the_acma_registration_ticked(au_org, twilio):
    au_ready(au_org, twilio)
    with pytest.raises(BroadcastRefused, match="ACMA Sender ID Register"):
        alpha_sender_set(
            organization=au_org, alpha_sender="BondiSwim", registered=False, actor_label="A"
        )
    assert not posts(twilio, "/AlphaSenders")


def test_a_sender_id_is_for_australia_only(org, twilio):
    card_on_file(org)
    sending_number_buy(organization=org, phone_number="+14155550123")
    with pytest.raises(BroadcastRefused, match="Australian organizations only"):
        alpha_sender_set(organization=org, alpha_sender="DemoGym", registered=True, actor_label="A")
    assert not posts(twilio, "/AlphaSenders")


def test_the_sender_id_joins_the_service_with_the_number_kept_as_fallback(au_org, twilio):
    service = au_ready(au_org, twilio)
    assert not sends_without_reply_path(au_org)

    alpha_sender_set(
        organization=au_org, alpha_sender="BondiSwim", registered=True, actor_label="Kim Lee"
    )

    service.refresh_from_db()
    at_twilio = twilio.messaging.services[service.sid]
    assert [alpha for alpha, _ in at_twilio.alpha_senders.values()] == ["BondiSwim"]
    assert service.alpha_sender_sid in at_twilio.alpha_senders
    assert twilio.messaging.pool_of(service.sid) == ["+61491570006"]  # replies and STOP land here
    assert service.alpha_sender_confirmed_by == "Kim Lee" and service.alpha_sender_confirmed_at
    assert sends_without_reply_path(au_org)


def test_a_sender_id_twilio_refuses_is_not_active_and_says_why(au_org, twilio):
    au_ready(au_org, twilio)
    twilio.messaging.fail_next("alpha_add", status=503)
    with pytest.raises(BroadcastRefused, match="Twilio did not add the sender ID"):
        alpha_sender_set(
            organization=au_org, alpha_sender="BondiSwim", registered=True, actor_label="A"
        )
    service = MessagingService.objects.get(organization=au_org)
    assert service.alpha_sender_id == "BondiSwim" and not service.alpha_sender_sid
    assert service.alpha_sender_error and not sends_without_reply_path(au_org)


def test_the_sender_id_form_changes_only_the_admins_own_organization(au_org, twilio, client):
    other = OrganizationFactory(country=Organization.Country.AU, time_zone="Australia/Sydney")
    theirs = au_ready(other, twilio, "+61491570007")
    au_ready(au_org, twilio)
    admin = StaffMemberFactory(organization=au_org, role="admin")
    client.force_login(admin.user)

    page = client.post(
        reverse("broadcasts:alpha_sender"),
        {"alpha_sender": "BondiSwim", "registered": "on"},
        follow=True,
    )

    assert "Texts now show BondiSwim as the sender" in page.content.decode()
    theirs.refresh_from_db()
    assert (
        theirs.alpha_sender_id == "" and twilio.messaging.services[theirs.sid].alpha_senders == {}
    )
    other_admin = StaffMemberFactory(organization=other, role="admin")
    client.force_login(other_admin.user)
    settings_page = client.get(reverse("credits:sms_voice_settings")).content.decode()
    assert "BondiSwim" not in settings_page
    assert MessagingService.objects.get(organization=au_org).alpha_sender_active


def test_staff_without_the_admin_role_cannot_change_the_sender_id(au_org, client):
    client.force_login(StaffMemberFactory(organization=au_org, role="staff").user)
    response = client.post(reverse("broadcasts:alpha_sender"), {"alpha_sender": "BondiSwim"})
    assert response.status_code == 403


def test_a_text_that_went_out_from_the_sender_id_is_found_again_when_reconciled(
    au_org, twilio, django_capture_on_commit_callbacks
):
    from broadcasts.messaging_services import broadcast_senders
    from broadcasts.models import Recipient
    from broadcasts.providers import twilio as gateway
    from broadcasts.sms.send import sent_sid
    from smsvoice.celery import app

    au_ready(au_org, twilio)
    alpha_sender_set(
        organization=au_org, alpha_sender="BondiSwim", registered=True, actor_label="A"
    )
    from smsvoice.models import MessageOptions

    # No reply path from a sender ID: the footer must say how to opt out without replying.
    MessageOptions.objects.update_or_create(
        organization=au_org,
        defaults={"header": "Bondi Swim:", "footer": "Opt out: bondi.example/stop"},
    )
    family = family_with_number(au_org, e164="+61491570123")
    twilio.callback_delay = 1.0  # long enough to look the message up while still "accepted"
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            broadcast = broadcast_create(
                organization=au_org,
                sender=StaffMemberFactory(organization=au_org),
                selection=families_selection(family),
                text="Pool closed today",
            )
    finally:
        app.conf.task_always_eager = False
    (message,) = twilio.messages.values()
    assert message.picked_from == "BondiSwim"  # Twilio shows the sender ID as From
    recipient = broadcast.recipients.get(status=Recipient.Status.SENT)

    # An ambiguous send, looked up at once (while Twilio still shows no From): found by To.
    Recipient.objects.filter(pk=recipient.pk).update(
        status=Recipient.Status.SENDING, provider_sid=""
    )
    recipient.refresh_from_db()
    broadcast.refresh_from_db()
    assert twilio.messages[message.sid].status == "accepted"
    assert sent_sid(broadcast, recipient) == message.sid
    # The sweep's bulk look-up (sms_reconcile) lists each sender's recent messages, once the
    # message has left "accepted" (a lease expires long after).
    while twilio.messages[message.sid].status == "accepted":  # no From until it leaves
        time.sleep(0.01)
    assert broadcast_senders(broadcast) == ["+61491570006", "BondiSwim"]
    recent = gateway.messages_recent(from_="BondiSwim", created_after=broadcast.created_at)
    assert [m["sid"] if isinstance(m, dict) else m.sid for m in recent] == [message.sid]


def test_the_outbox_sets_up_a_local_service_and_asks_twilio_nothing(org, settings):
    settings.SMS_BACKEND = "outbox"
    settings.TWILIO_MESSAGING_API_BASE = "http://127.0.0.1:9"  # nothing listens: a call fails
    card_on_file(org)

    number = sending_number_buy(organization=org, phone_number="+14155550107")

    service = MessagingService.objects.get(organization=org)
    assert service.state == State.LOCAL and service.last_error == ""
    assert service.pool_number_sid == number.provider_sid
    assert sms_refusal(organization=org) is None
    sending_number_release(organization=org)
    assert MessagingService.objects.get(organization=org).pool_number_sid == ""


def test_staff_without_the_admin_role_cannot_set_up_the_service(staff_client):
    assert staff_client.post(reverse("broadcasts:messaging_service")).status_code == 403


def test_buying_a_number_whose_service_fails_says_so(admin_client, org, twilio):
    card_on_file(org)
    twilio.messaging.fail_next("service_create", status=503)

    page = admin_client.post(
        reverse("broadcasts:sending_number"),
        {"action": "buy", "phone_number": "+14155550123"},
        follow=True,
    )

    html = page.content.decode()
    assert "+14155550123 is now your sending number." in html
    assert "Its Messaging Service is not set up yet, so texts are refused" in html
    assert MessagingService.objects.get(organization=org).state == State.FAILED


def test_a_second_attempt_while_one_is_under_way_creates_no_second_service(org, twilio):
    from smsvoice.locks import try_lock

    card_on_file(org)
    sending_number_buy(organization=org, phone_number="+14155550123")
    MessagingService.objects.filter(organization=org).update(sid="", state=State.PENDING)
    with try_lock(f"messaging-service-{org.pk}") as held:
        assert held
        service = messaging_service_ensure(organization=org)  # the other attempt is running
    assert service.state == State.PENDING and len(twilio.messaging.services) == 1
