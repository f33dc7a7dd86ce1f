"""SMS broadcasts from selection to audit log, against the Twilio stand-in, tasks in-process."""

import pytest
from django.db.models import Sum
from django.utils import timezone

from broadcasts.engine.queue import broadcast_dispatch, sender_of
from broadcasts.engine.run import sender_run
from broadcasts.engine.sweep import broadcasts_sweep
from broadcasts.models import AuditLogEntry, Broadcast, Recipient
from broadcasts.recipients import BroadcastRefused
from broadcasts.sms.compose import broadcast_create, broadcast_preview
from broadcasts.sms.replies import inbound_sms_handle
from families.selection import Selection
from tests.broadcasts.sms_helpers import (
    balance,
    families_selection,
    family_with_number,
    give_credits,
    sender_ready,
    student_of,
    unsubscribe,
)
from tests.factories import FamilyFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_tasks():
    from smsvoice.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def sms(twilio_standin, settings, eager_tasks, django_capture_on_commit_callbacks):
    """Send through the stand-in with tasks run in-process; returns a send function."""
    settings.SMS_BACKEND = "twilio"

    def send(org, sender, selection, text):
        with django_capture_on_commit_callbacks(execute=True):
            return broadcast_create(
                organization=org, sender=sender, selection=selection, text=text
            )

    return send


@pytest.fixture
def sender(org):
    return StaffMemberFactory(organization=org, first_name="Jo", last_name="Coach")


def sent_to(standin) -> list[str]:
    return [message.to for message in standin.messages.values()]


def test_it_sends_one_message_per_opted_in_number_and_audits_each(org, sender, sms, twilio_standin):
    sender_ready(org)
    families = [family_with_number(org) for _ in range(3)]
    broadcast = sms(org, sender, families_selection(*families), "Gym closed today")
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DONE
    assert sorted(sent_to(twilio_standin)) == sorted(f.phone_numbers.get().e164 for f in families)
    sent = Recipient.objects.filter(broadcast=broadcast, status=Recipient.Status.SENT)
    assert sent.count() == 3
    assert AuditLogEntry.objects.filter(broadcast=broadcast).count() == 3
    entry = AuditLogEntry.objects.filter(broadcast=broadcast).first()
    assert entry.sender == sender and entry.text == "Gym closed today" and entry.credits == 1
    assert entry.provider_sid in twilio_standin.messages


def test_the_same_number_selected_twice_is_messaged_once(org, sender, sms, twilio_standin):
    sender_ready(org)
    family = family_with_number(org, e164="+12025550111")
    other = family_with_number(org, e164="+12025550111")
    student_of(family, "Emma")
    student_of(family, "Liam")
    sms(
        org,
        sender,
        Selection(kind="students", ids=frozenset(family.students.values_list("pk", flat=True))),
        "Hi {student_first_name}",
    )
    assert sent_to(twilio_standin) == ["+12025550111"]
    assert next(iter(twilio_standin.messages.values())).body == "Hi Emma and Liam"
    sms(org, sender, families_selection(family, other), "Hello")
    assert sent_to(twilio_standin).count("+12025550111") == 2  # once per broadcast
    last = Broadcast.objects.latest("id")
    assert last.recipients.filter(reason=Recipient.Reason.DUPLICATE).count() == 1


def test_opt_in_and_stop_are_honoured_with_reasons(org, sender, sms, twilio_standin):
    sender_ready(org)
    yes = family_with_number(org)
    no = family_with_number(org, opted_in=False)
    landline = family_with_number(org, opted_in=False, text_capable=False)
    stopped = family_with_number(org)
    unsubscribe(org, stopped.phone_numbers.get().e164)
    nobody = FamilyFactory(organization=org)
    preview = broadcast_preview(
        organization=org,
        selection=families_selection(yes, no, landline, stopped, nobody),
        text="Hi",
    )
    assert preview.messages == 1
    assert preview.excluded == {
        "not_opted_in": 1,
        "not_text_capable": 1,
        "unsubscribed": 1,
        "no_number": 1,
    }
    sms(org, sender, families_selection(yes, no, landline, stopped, nobody), "Hi")
    assert sent_to(twilio_standin) == [yes.phone_numbers.get().e164]


def test_credits_are_parts_times_recipients(org, sender, sms):
    sender_ready(org, credits=100)
    families = [family_with_number(org) for _ in range(4)]
    broadcast = sms(org, sender, families_selection(*families), "x" * 200)  # 2 parts
    assert broadcast.credits_debited == 8
    assert balance(org) == 92
    assert Recipient.objects.filter(broadcast=broadcast).aggregate(s=Sum("credits"))["s"] == 8


def test_each_recipients_own_merged_text_is_counted(org, sender, sms):
    sender_ready(org, credits=100)
    short = family_with_number(org, guardian="Al")
    long = family_with_number(org, guardian="B" * 40)
    text = "{first_name} " + "x" * 140  # 143 characters for Al, 181 for the long name
    broadcast = sms(org, sender, families_selection(short, long), text)
    parts = dict(Recipient.objects.filter(broadcast=broadcast).values_list("family", "parts"))
    assert parts == {short.pk: 1, long.pk: 2}
    assert broadcast.credits_debited == 3


def test_a_permanent_error_fails_and_refunds_that_recipient(org, sender, sms, twilio_standin):
    sender_ready(org, credits=10)
    good = family_with_number(org)
    bad = family_with_number(org)
    twilio_standin.error_for_number(bad.phone_numbers.get().e164, 21211)
    broadcast = sms(org, sender, families_selection(good, bad), "Hello")
    failed = Recipient.objects.get(broadcast=broadcast, family=bad)
    assert failed.status == Recipient.Status.FAILED and failed.error_code == "21211"
    assert balance(org) == 9  # 2 debited, 1 refunded
    assert AuditLogEntry.objects.filter(broadcast=broadcast).count() == 1


def test_requests_refused_with_429_are_sent_later_without_using_attempts(
    org, sender, sms, twilio_standin
):
    sender_ready(org, credits=10)
    family = family_with_number(org)
    twilio_standin.fail_next(status=429, count=2, retry_after=0)
    broadcast = sms(org, sender, families_selection(family), "Hello")
    recipient = broadcast.recipients.get()
    assert recipient.status == Recipient.Status.SENT
    assert recipient.attempts == 0, "back-pressure is not the message's fault"
    assert len(twilio_standin.messages) == 1
    assert balance(org) == 9


def test_after_a_server_error_twilio_is_asked_before_sending_again(
    org, sender, sms, twilio_standin
):
    sender_ready(org, credits=10)
    family = family_with_number(org)
    twilio_standin.fail_next(status=500, count=1)
    broadcast = sms(org, sender, families_selection(family), "Hello")
    recipient = broadcast.recipients.get()
    assert (recipient.status, recipient.attempts) == (Recipient.Status.SENT, 0)
    lookups = [
        r
        for r in twilio_standin.requests
        if r.method == "GET" and r.path.endswith("/Messages.json")
    ]
    assert len(lookups) == 1, "the 500 was ambiguous, so Twilio was asked before a resend"
    assert len(twilio_standin.messages) == 1


def test_when_twilio_cannot_say_the_message_waits_for_the_sweep(
    org, sender, sms, twilio_standin, django_capture_on_commit_callbacks
):
    sender_ready(org, credits=10)
    family = family_with_number(org)
    twilio_standin.fail_next(status=500, count=2)  # the send, then the lookup
    broadcast = sms(org, sender, families_selection(family), "Hello")
    recipient = broadcast.recipients.get()
    assert recipient.status == Recipient.Status.SENDING
    Recipient.objects.filter(pk=recipient.pk).update(  # its lease expired
        lease_expires_at=timezone.now() - timezone.timedelta(minutes=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        broadcasts_sweep()  # not at Twilio: back to pending, sent again
    recipient.refresh_from_db()
    assert recipient.status == Recipient.Status.SENT
    assert len(twilio_standin.messages) == 1


def test_retries_are_bounded_then_failed_and_refunded(org, sender, sms, twilio_standin, settings):
    settings.SMS_MAX_ATTEMPTS = 3
    sender_ready(org, credits=10)
    family = family_with_number(org)
    twilio_standin.fail_next(status=408, count=10, retry_after=0)  # about this request
    broadcast = sms(org, sender, families_selection(family), "Hello")
    recipient = broadcast.recipients.get()
    assert (recipient.status, recipient.attempts) == (Recipient.Status.FAILED, 2)
    assert len([r for r in twilio_standin.requests if r.method == "POST"]) == 3
    assert balance(org) == 10


def test_a_duplicated_task_delivery_sends_nothing_twice(org, sender, sms, twilio_standin):
    sender_ready(org)
    families = [family_with_number(org) for _ in range(5)]
    broadcast = sms(org, sender, families_selection(*families), "Once")
    Broadcast.objects.filter(pk=broadcast.pk).update(status=Broadcast.Status.SENDING)
    sender_run(sender=sender_of(broadcast))
    sender_run(sender=sender_of(broadcast))
    broadcast_dispatch(broadcast_id=broadcast.pk)
    assert len(twilio_standin.messages) == 5
    assert AuditLogEntry.objects.filter(broadcast=broadcast).count() == 5


def test_a_number_that_texts_stop_before_its_turn_is_skipped_and_refunded(
    org, sender, twilio_standin, settings, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "twilio"
    sender_ready(org, credits=10)
    keep, leave = family_with_number(org), family_with_number(org)
    broadcast = broadcast_create(  # on_commit not run: nothing sent yet
        organization=org, sender=sender, selection=families_selection(keep, leave), text="Hi"
    )
    inbound_sms_handle(
        to_e164="+14155550100", from_e164=leave.phone_numbers.get().e164, body="stop"
    )
    broadcast_dispatch(broadcast_id=broadcast.pk)
    sender_run(sender=sender_of(broadcast))
    skipped = broadcast.recipients.get(family=leave)
    assert skipped.status == Recipient.Status.SKIPPED
    assert skipped.reason == Recipient.Reason.UNSUBSCRIBED
    assert sent_to(twilio_standin) == [keep.phone_numbers.get().e164]
    assert balance(org) == 9


# --- every refusal leaves the database and the balance as they were ---


def _snapshot(org):
    return (Broadcast.objects.count(), Recipient.objects.count(), balance(org))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Type a message first."),
        ("   ", "Type a message first."),
        ("x" * 1531, "needs 11 parts"),
        ("Hi {firstname}", "Unknown merge field {firstname}"),
    ],
)
def test_a_bad_text_is_refused_and_changes_nothing(org, sender, text, message):
    sender_ready(org)
    family = family_with_number(org)
    before = _snapshot(org)
    with pytest.raises(BroadcastRefused, match=message.replace("{", r"\{")):
        broadcast_create(
            organization=org, sender=sender, selection=families_selection(family), text=text
        )
    assert _snapshot(org) == before


def test_nobody_eligible_is_refused(org, sender):
    sender_ready(org)
    family = family_with_number(org, opted_in=False)
    before = _snapshot(org)
    with pytest.raises(BroadcastRefused, match="1 not opted in"):
        broadcast_create(
            organization=org, sender=sender, selection=families_selection(family), text="Hi"
        )
    assert _snapshot(org) == before


def test_short_credits_are_refused_before_anything_goes_out(org, sender, twilio_standin):
    sender_ready(org, credits=2)
    families = [family_with_number(org) for _ in range(3)]
    before = _snapshot(org)
    with pytest.raises(BroadcastRefused, match="needs 3 credits but only 2"):
        broadcast_create(
            organization=org, sender=sender, selection=families_selection(*families), text="Hi"
        )
    assert _snapshot(org) == before
    assert twilio_standin.messages == {}


def test_no_sending_number_is_refused(org, sender):
    give_credits(org, 10)
    family = family_with_number(org)
    with pytest.raises(BroadcastRefused, match="no sending number"):
        broadcast_create(
            organization=org, sender=sender, selection=families_selection(family), text="Hi"
        )
    assert Broadcast.objects.count() == 0


def test_a_suspended_organization_cannot_send(org, sender):
    from credits.models import CreditAccount

    sender_ready(org)
    family = family_with_number(org)
    CreditAccount.objects.filter(organization=org).update(
        sending_suspended_at=timezone.now(), sending_suspended_reason="the monthly fee is unpaid"
    )
    before = _snapshot(org)
    with pytest.raises(BroadcastRefused, match="suspended"):
        broadcast_create(
            organization=org, sender=sender, selection=families_selection(family), text="Hi"
        )
    assert _snapshot(org) == before


def test_another_organizations_ids_select_nobody(org, other_org, sender):
    sender_ready(org)
    theirs = family_with_number(other_org)
    with pytest.raises(BroadcastRefused, match="Nobody is selected"):
        broadcast_create(
            organization=org, sender=sender, selection=families_selection(theirs), text="Hi"
        )
