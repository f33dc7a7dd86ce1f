"""The sending engine in one process: budgets, leases, lanes, validity, bulk reconciliation and
Messaging Services, against the Twilio stand-in (real workers: test_engine_worker.py)."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from broadcasts.engine import pace
from broadcasts.engine.lease import Lease, lease_claim
from broadcasts.engine.queue import broadcast_lane, sender_of
from broadcasts.engine.record import Outcome, sent_with_audit
from broadcasts.engine.sweep import broadcasts_sweep
from broadcasts.models import AuditLogEntry, Broadcast, Recipient
from broadcasts.providers import twilio as gateway
from broadcasts.sms.compose import broadcast_create
from credits.models import LedgerEntry
from tests.broadcasts.sms_helpers import (
    balance,
    families_selection,
    family_with_number,
    sender_ready,
)
from tests.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db
Status = Recipient.Status


@pytest.fixture
def eager_tasks():
    from smsvoice.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def sender(org):
    return StaffMemberFactory(organization=org, first_name="Jo", last_name="Coach")


@pytest.fixture
def send(twilio_standin, eager_tasks, django_capture_on_commit_callbacks):
    def send(org, sender, families, text="Hello"):
        with django_capture_on_commit_callbacks(execute=True):
            return broadcast_create(
                organization=org, sender=sender, selection=families_selection(*families), text=text
            )

    return send


def created(org, sender, families, text="Hello"):
    """A broadcast created but not dispatched (its on_commit never ran)."""
    return broadcast_create(
        organization=org, sender=sender, selection=families_selection(*families), text=text
    )


# --- budgets ---------------------------------------------------------------------------------


def test_a_senders_tokens_are_spaced_by_its_rate_with_headroom(settings):
    settings.ENGINE_HORIZON_SECONDS = 1.0
    first = pace.tokens_take(sender="sms:+1", rate=10, wanted=100)
    assert first.count == 10  # tokens whose times fall in the next second, at 95% of 10/s
    assert first.interval == pytest.approx(1 / 9.5)
    slow = pace.tokens_take(sender="sms:+9", rate=1, wanted=100)
    assert slow.count == 1
    again = pace.tokens_take(sender="sms:+9", rate=1, wanted=100)
    assert again.count == 0 and 0 < again.retry_in <= slow.interval


def test_a_peek_at_the_budget_reserves_nothing(settings):
    settings.ENGINE_HORIZON_SECONDS = 1.0
    assert pace.tokens_peek(sender="sms:+2", rate=10, wanted=100)[0] == 10
    assert pace.tokens_take(sender="sms:+2", rate=10, wanted=100).count == 10
    count, wait = pace.tokens_peek(sender="sms:+2", rate=10, wanted=100)
    assert count == 0 and wait > 0


def test_one_wake_up_is_booked_per_sender_and_a_lost_one_is_replaced(settings):
    now = time.time()
    assert pace.wake_book(sender="sms:+3", at=now + 5)
    assert not pace.wake_book(sender="sms:+3", at=now + 6), "a sooner one is booked"
    assert pace.wake_book(sender="sms:+3", at=now + 1), "sooner than the booked one"
    pace.wake_done(sender="sms:+3", at=now + 1)
    assert pace.wake_booked(sender="sms:+3") is None
    # A booking whose time passed long ago was never run: its task died with a worker.
    assert pace.wake_book(sender="sms:+4", at=now - 60)
    assert pace.wake_book(sender="sms:+4", at=now)


def test_a_ten_per_second_number_never_has_more_than_ten_in_a_sliding_second(
    org, sender, send, twilio_standin
):
    number = sender_ready(org)
    number.messages_per_second = 10
    number.save()
    send(org, sender, [family_with_number(org) for _ in range(25)])
    assert len(twilio_standin.accepted) == 25
    assert twilio_standin.max_in_window(seconds=1.0, from_=number.e164) <= 10


# --- lanes, leases, validity ------------------------------------------------------------------


def test_small_or_urgent_broadcasts_go_in_the_priority_lane(org, sender, settings):
    settings.ENGINE_PRIORITY_MAX_RECIPIENTS = 2
    sender_ready(org)
    small = created(org, sender, [family_with_number(org) for _ in range(2)])
    big = created(org, sender, [family_with_number(org) for _ in range(3)])
    assert broadcast_lane(small) == Broadcast.Lane.PRIORITY
    assert broadcast_lane(big) == Broadcast.Lane.BULK
    big.urgent = True
    assert broadcast_lane(big) == Broadcast.Lane.PRIORITY


def test_claims_take_the_priority_lane_first(org, sender):
    sender_ready(org)
    bulk = created(org, sender, [family_with_number(org) for _ in range(3)])
    small = created(org, sender, [family_with_number(org)])
    Broadcast.objects.filter(pk=bulk.pk).update(status="sending", lane=Broadcast.Lane.BULK)
    Broadcast.objects.filter(pk=small.pk).update(status="sending", lane=Broadcast.Lane.PRIORITY)
    Recipient.objects.update(next_attempt_at=timezone.now())
    claimed = lease_claim(broadcasts=[small, bulk], count=2, lease=Lease())
    assert [r.broadcast_id for r in claimed] == [small.pk, bulk.pk], "never more than asked"
    assert Recipient.objects.filter(status=Status.SENDING).count() == 2


def test_a_write_under_a_lease_the_sweep_took_over_changes_nothing(org, sender):
    sender_ready(org)
    broadcast = created(org, sender, [family_with_number(org)])
    Broadcast.objects.filter(pk=broadcast.pk).update(status="sending")
    Recipient.objects.update(next_attempt_at=timezone.now())
    late = Lease()
    (recipient,) = lease_claim(broadcasts=[broadcast], count=5, lease=late)
    Recipient.objects.filter(pk=recipient.pk).update(lease_token=late.token + 1)  # taken over
    accepted = [Outcome(broadcast, recipient, sid="SM" + "0" * 32)]
    mine = sent_with_audit(accepted, lease_token=late.token)
    assert mine == []
    recipient.refresh_from_db()
    assert recipient.status == Status.SENDING and not AuditLogEntry.objects.exists()


def test_the_sweep_leaves_a_live_lease_alone(org, sender, twilio_standin):
    sender_ready(org)
    broadcast = created(org, sender, [family_with_number(org)])
    Broadcast.objects.filter(pk=broadcast.pk).update(status="sending")
    Recipient.objects.update(next_attempt_at=timezone.now() - timedelta(hours=1))
    lease_claim(broadcasts=[broadcast], count=5, lease=Lease())
    Recipient.objects.update(claimed_at=timezone.now() - timedelta(hours=1))  # old, but leased
    counts = broadcasts_sweep()
    assert not any(k.startswith("reconciled_") for k in counts)
    assert Recipient.objects.get().status == Status.SENDING
    assert twilio_standin.requests == []


def test_messages_still_unsent_when_validity_ends_fail_and_are_refunded(
    org, sender, twilio_standin
):
    sender_ready(org, credits=10)
    broadcast = created(org, sender, [family_with_number(org) for _ in range(2)])
    Broadcast.objects.filter(pk=broadcast.pk).update(
        status="sending", valid_until=timezone.now() - timedelta(seconds=1)
    )
    counts = broadcasts_sweep()
    assert counts["expired"] == 2
    assert set(broadcast.recipients.values_list("status", flat=True)) == {Status.FAILED}
    assert "4 hours" in broadcast.recipients.first().error_message
    assert balance(org) == 10
    assert twilio_standin.requests == []
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DONE


# --- back-pressure ---------------------------------------------------------------------------


def test_a_429_storm_ends_with_everyone_sent_once_and_no_attempt_used(
    org, sender, send, twilio_standin, settings
):
    settings.ENGINE_BACK_PRESSURE_SECONDS = 0.05
    sender_ready(org, credits=100)
    twilio_standin.fail_randomly({429: 0.4}, retry_after=0, seed=7)
    broadcast = send(org, sender, [family_with_number(org) for _ in range(30)])
    statuses = set(broadcast.recipients.values_list("status", flat=True))
    assert statuses == {Status.SENT}
    assert set(broadcast.recipients.values_list("attempts", flat=True)) == {0}
    assert twilio_standin.duplicates() == 0 and len(twilio_standin.accepted) == 30
    assert balance(org) == 70


# --- recovery in bulk ------------------------------------------------------------------------


def test_expired_leases_are_reconciled_in_bulk_from_one_list_of_the_numbers_messages(
    org, sender, twilio_standin, eager_tasks
):
    number = sender_ready(org, credits=100)
    families = [family_with_number(org) for _ in range(40)]
    broadcast = created(org, sender, families)
    Broadcast.objects.filter(pk=broadcast.pk).update(status="sending")
    Recipient.objects.update(next_attempt_at=timezone.now())
    recipients = lease_claim(broadcasts=[broadcast], count=40, lease=Lease())
    # The worker died after Twilio took half of them, before it recorded anything.
    for recipient in recipients[:20]:
        gateway.sms_send(to=recipient.e164, from_=number.e164, body=recipient.text)
    Recipient.objects.update(lease_expires_at=timezone.now() - timedelta(minutes=1))
    before = len(twilio_standin.requests)
    counts = broadcasts_sweep()
    assert counts["reconciled_sent"] == 20 and counts["reconciled_requeued"] == 20
    lists = [
        r for r in twilio_standin.requests[before:] if r.method == "GET" and "Messages" in r.path
    ]
    assert len(lists) == 1, "one page of the number's messages, not a look-up per recipient"
    assert set(broadcast.recipients.values_list("status", flat=True)) == {Status.SENT}
    assert twilio_standin.duplicates() == 0 and len(twilio_standin.accepted) == 40
    assert AuditLogEntry.objects.filter(broadcast=broadcast).count() == 40
    assert balance(org) == 60


# --- Messaging Services ----------------------------------------------------------------------


def test_a_number_in_a_messaging_service_sends_through_it(org, sender, send, twilio_standin):
    number = sender_ready(org)
    number.messaging_service_sid = "MG" + "a" * 32
    number.save()
    twilio_standin.messaging_service("MG" + "a" * 32, [number.e164])
    broadcast = send(org, sender, [family_with_number(org)])
    (request,) = [r for r in twilio_standin.requests if r.method == "POST"]
    assert request.form["MessagingServiceSid"] == "MG" + "a" * 32
    assert "From" not in request.form
    broadcast.refresh_from_db()
    assert broadcast.messaging_service_sid == "MG" + "a" * 32
    assert broadcast.recipients.get().status == Status.SENT
    assert sender_of(broadcast) == f"sms:{number.e164}"


def test_every_credit_movement_of_the_engine_is_a_ledger_row(org, sender, send, twilio_standin):
    sender_ready(org, credits=10)
    good, bad = family_with_number(org), family_with_number(org)
    twilio_standin.error_for_number(bad.phone_numbers.get().e164, 21211)
    send(org, sender, [good, bad])
    kinds = list(LedgerEntry.objects.filter(organization=org).values_list("kind", flat=True))
    assert sorted(kinds).count("refund") == 1
    assert balance(org) == 9


def test_a_batch_task_of_the_old_engine_still_queued_at_upgrade_sends_its_recipients(
    org, sender, twilio_standin, eager_tasks
):
    from broadcasts.tasks import recipients_send

    sender_ready(org)
    broadcast = created(org, sender, [family_with_number(org) for _ in range(3)])
    Broadcast.objects.filter(pk=broadcast.pk).update(status="sending")
    ids = list(broadcast.recipients.values_list("pk", flat=True))
    recipients_send.delay(broadcast.pk, ids)
    assert set(broadcast.recipients.values_list("status", flat=True)) == {Status.SENT}
    assert twilio_standin.duplicates() == 0 and len(twilio_standin.accepted) == 3


def test_the_sweep_does_not_wake_a_sender_whose_slice_is_sending(org, sender):
    sender_ready(org)
    broadcast = created(org, sender, [family_with_number(org)])
    Broadcast.objects.filter(pk=broadcast.pk).update(status="sending")
    hold = pace.sender_lock(sender=sender_of(broadcast))
    assert hold is not None
    assert broadcasts_sweep()["woken"] == 0
    pace.sender_unlock(sender=sender_of(broadcast), token=hold)
    assert broadcasts_sweep()["woken"] == 1
