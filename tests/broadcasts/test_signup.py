"""The signup message: once per number when it becomes opted in (parent portal Yes, staff with
consent, START after STOP), charged through the ledger, audited, not on re-saves, again after
an opt-out in between; short credits never block the opt-in. Sent through the engine to the
Twilio stand-in, tasks in-process."""

import pytest
from django.test import Client
from django.urls import reverse

from broadcasts.models import AuditLogEntry, Broadcast, Recipient
from broadcasts.recipients import BroadcastRefused
from broadcasts.sms import ctia
from broadcasts.sms.replies import inbound_sms_handle
from broadcasts.sms.single import CreditsShort, single_text_create
from credits.models import LedgerEntry
from families.models import ConsentEvent, OptOut
from families.services import phone_texts_set_by_staff
from portal import services as portal_services
from tests.broadcasts.sms_helpers import balance, family_with_number, sender_ready
from tests.factories import (
    FamilyPolicyFactory,
    GuardianFactory,
    OrganizationFactory,
    SendingNumberFactory,
    StaffMemberFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
SENDING = "+14155550100"


@pytest.fixture
def engine(twilio_standin, django_capture_on_commit_callbacks):
    """Runs what is enqueued on commit, in-process, against the stand-in; returns a function
    that runs its argument the way a request would, committing at the end."""
    from smsvoice.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True

    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    yield run
    app.conf.task_always_eager = before


@pytest.fixture
def ready(org):
    sender_ready(org, credits=100, e164=SENDING)
    FamilyPolicyFactory(organization=org, version=1, text="We text about closures.")
    return org


def signups(org):
    return Broadcast.objects.for_org(org).filter(selection_kind="signup")


def bodies_to(standin, e164):
    return [m.body for m in standin.messages.values() if m.to == e164]


def staff_on(number, actor=None):
    return phone_texts_set_by_staff(
        phone_number=number, on=True, actor=actor, consent_confirmed=True
    )


def staff_off(number):
    return phone_texts_set_by_staff(phone_number=number, on=False, actor=None)


def test_staff_with_consent_sends_it_once_charged_and_audited(ready, engine, twilio_standin):
    org = ready
    number = family_with_number(org, opted_in=False, name="Rivera").phone_numbers.get()
    before = balance(org)
    engine(lambda: staff_on(number))
    expected = ctia.signup_text(org)
    assert bodies_to(twilio_standin, number.e164) == [expected]
    broadcast = signups(org).get()
    assert (broadcast.status, broadcast.recipient_count) == ("done", 1)
    assert broadcast.credits_debited == 1
    assert broadcast.sender_label == "Signup message" and broadcast.sender is None
    recipient = broadcast.recipients.get()
    assert (recipient.status, recipient.e164, recipient.family_id) == (
        Recipient.Status.SENT, number.e164, number.family_id,
    )
    debit = LedgerEntry.objects.get(reference=broadcast.debit_reference)
    assert debit.credits == -1 and balance(org) == before - 1
    entry = AuditLogEntry.objects.get(broadcast=broadcast)
    assert (entry.text, entry.credits, entry.sender_label) == (expected, 1, "Signup message")
    # Saving again (already on) records nothing and sends nothing.
    number.refresh_from_db()
    assert engine(lambda: staff_on(number)) is None
    assert signups(org).count() == 1 and len(bodies_to(twilio_standin, number.e164)) == 1


def test_the_portal_yes_sends_it_and_a_second_yes_does_not(ready, engine, twilio_standin):
    org = ready
    family = family_with_number(org, opted_in=False)
    number = family.phone_numbers.get()
    guardian = GuardianFactory(family=family, user=UserFactory(username="p@example.test"))
    client = Client()
    client.force_login(guardian.user)
    yes = {"confirm": "on", "policy_version": 1}
    url = reverse("portal:texts_yes", args=[number.pk])
    response = engine(lambda: client.post(url, yes))
    assert response.status_code == 302
    number.refresh_from_db()
    assert number.sms_opt_in
    assert bodies_to(twilio_standin, number.e164) == [ctia.signup_text(org)]
    again = engine(
        lambda: portal_services.portal_texts_yes(
            guardian=guardian, phone_number=number, confirmed=True, policy_version=1,
            ip_address=None, user_agent="",
        )
    )
    assert again is None and signups(org).count() == 1


def test_stop_then_start_sends_it_again_once(ready, engine, twilio_standin):
    org = ready
    number = family_with_number(org, opted_in=False).phone_numbers.get()
    engine(lambda: staff_on(number))
    engine(lambda: inbound_sms_handle(to_e164=SENDING, from_e164=number.e164, body="STOP"))
    assert OptOut.objects.for_org(org).filter(e164=number.e164).exists()
    answer = engine(
        lambda: inbound_sms_handle(to_e164=SENDING, from_e164=number.e164, body="START")
    )
    assert answer and "subscribed" in answer.lower()
    number.refresh_from_db()
    assert number.sms_opt_in
    assert signups(org).count() == 2
    assert bodies_to(twilio_standin, number.e164).count(ctia.signup_text(org)) == 2
    # A second START (no STOP on file) neither opts in nor sends it.
    engine(lambda: inbound_sms_handle(to_e164=SENDING, from_e164=number.e164, body="START"))
    assert signups(org).count() == 2


def test_staff_off_then_on_sends_it_again(ready, engine, twilio_standin):
    org = ready
    number = family_with_number(org, opted_in=False).phone_numbers.get()
    engine(lambda: staff_on(number))
    number.refresh_from_db()
    engine(lambda: staff_off(number))
    number.refresh_from_db()
    engine(lambda: staff_on(number))
    assert signups(org).count() == 2


def test_two_owners_of_the_same_digits_get_one_signup(ready, engine, twilio_standin):
    org = ready
    first = family_with_number(org, opted_in=False, e164="+12025550177").phone_numbers.get()
    second = family_with_number(org, opted_in=False, e164="+12025550177").phone_numbers.get()
    engine(lambda: staff_on(first))
    engine(lambda: staff_on(second))
    assert signups(org).count() == 1
    assert len(bodies_to(twilio_standin, "+12025550177")) == 1


def test_the_organizations_own_signup_text_is_sent(ready, engine, twilio_standin):
    org = ready
    options = ctia.message_options_for(org)
    options.signup_message = (
        "{organization} texts you now. Msg frequency varies. Msg & data rates may apply. "
        "Reply HELP for help, STOP to opt out."
    )
    options.save()
    number = family_with_number(org, opted_in=False).phone_numbers.get()
    engine(lambda: staff_on(number))
    assert bodies_to(twilio_standin, number.e164) == [
        f"{org.name} texts you now. Msg frequency varies. Msg & data rates may apply. "
        "Reply HELP for help, STOP to opt out."
    ]


def test_short_credits_keep_the_opt_in_and_show_a_skipped_signup(org, engine, twilio_standin):
    SendingNumberFactory(organization=org, e164=SENDING)  # and no credits
    number = family_with_number(org, opted_in=False).phone_numbers.get()
    event = engine(lambda: staff_on(number))
    number.refresh_from_db()
    assert number.sms_opt_in and event.opted_in  # the opt-in is recorded whatever happens
    assert twilio_standin.messages == {}
    skipped = signups(org).get()
    assert (skipped.status, skipped.credits_debited) == ("done", 0)
    recipient = skipped.recipients.get()
    assert recipient.status == Recipient.Status.SKIPPED
    assert "Not sent: This text needs 1 credit but only 0 are available" in recipient.error_message
    assert not LedgerEntry.objects.filter(reference=skipped.debit_reference).exists()
    # The next opt-in, with credits, tries again.
    from tests.broadcasts.sms_helpers import give_credits

    give_credits(org, 5)
    engine(lambda: staff_off(number))
    number.refresh_from_db()
    engine(lambda: staff_on(number))
    assert signups(org).count() == 2
    assert len(bodies_to(twilio_standin, number.e164)) == 1


def test_no_sending_number_sends_nothing_and_keeps_the_opt_in(org, engine):
    number = family_with_number(org, opted_in=False).phone_numbers.get()
    engine(lambda: staff_on(number))
    number.refresh_from_db()
    assert number.sms_opt_in and not signups(org).exists()
    assert ConsentEvent.objects.filter(phone_number=number, opted_in=True).count() == 1


def test_a_staff_members_own_number_gets_it_too(ready, engine, twilio_standin):
    from tests.factories import PhoneNumberFactory

    member = StaffMemberFactory(organization=ready, first_name="Mei", last_name="Tanaka")
    number = PhoneNumberFactory(
        family=None,
        staff_member=member,
        organization=ready,
        field=None,
        label="Cell",
        e164="+12025550166",
    )
    engine(lambda: staff_on(number))
    recipient = signups(ready).get().recipients.get()
    assert (recipient.staff_member_id, recipient.owner_label) == (member.pk, "Mei Tanaka — Cell")


# --- single_text_create, the general service ---


def test_single_text_refuses_short_credits_with_nothing_changed(org):
    sender_ready(org, credits=1, e164=SENDING)
    with pytest.raises(CreditsShort, match="needs 2 credits but only 1 is available"):
        single_text_create(organization=org, e164="+12025550111", text="x" * 161, kind="reply")
    assert not Broadcast.objects.exists() and balance(org) == 1


def test_single_text_refuses_a_number_that_replied_stop(org):
    sender_ready(org, e164=SENDING)
    OptOut.objects.create(organization=org, e164="+12025550111")
    with pytest.raises(BroadcastRefused, match="replied STOP"):
        single_text_create(organization=org, e164="+12025550111", text="Hi", kind="reply")
    assert not Broadcast.objects.exists()


def test_single_text_is_a_priority_broadcast_of_one(org, engine, twilio_standin):
    sender_ready(org, e164=SENDING)
    member = StaffMemberFactory(organization=org, first_name="Jo", last_name="Coach")
    made = engine(
        lambda: single_text_create(
            organization=org, e164="+12025550111", text="See you at 5", kind="reply", sender=member
        )
    )
    made.refresh_from_db()
    assert (made.selection_kind, made.lane, made.sender_label, made.status) == (
        "reply", Broadcast.Lane.PRIORITY, "Jo Coach", "done",
    )
    assert bodies_to(twilio_standin, "+12025550111") == ["See you at 5"]


def test_signups_stay_in_their_organization(ready, engine, twilio_standin):
    other = OrganizationFactory(name="Other Gym")
    sender_ready(other, e164="+14155550177")
    number = family_with_number(ready, opted_in=False, e164="+12025550155").phone_numbers.get()
    theirs = family_with_number(other, opted_in=False, e164="+12025550155").phone_numbers.get()
    engine(lambda: staff_on(number))
    engine(lambda: staff_on(theirs))  # the same digits at another organization: its own signup
    assert signups(ready).count() == 1 and signups(other).count() == 1
    assert {m.from_ for m in twilio_standin.messages.values()} >= {SENDING, "+14155550177"}


def test_the_broadcasts_list_shows_one_off_texts_apart(ready, staff_client):
    from tests.broadcasts.sms_helpers import families_selection

    single_text_create(organization=ready, e164="+12025550111", text="Welcome", kind="signup")
    member = StaffMemberFactory(organization=ready)
    from broadcasts.sms.compose import broadcast_create

    broadcast_create(
        organization=ready,
        sender=member,
        selection=families_selection(family_with_number(ready)),
        text="Closed today",
    )
    default = staff_client.get("/broadcasts/").content.decode()
    assert "Closed today" in default and "Welcome" not in default
    one_off = staff_client.get("/broadcasts/?show=one-off").content.decode()
    assert "Welcome" in one_off and "signup message" in one_off and "Closed today" not in one_off
    every = staff_client.get("/broadcasts/?show=all").content.decode()
    assert "Welcome" in every and "Closed today" in every
    assert staff_client.get("/broadcasts/?show=nonsense").status_code == 200
