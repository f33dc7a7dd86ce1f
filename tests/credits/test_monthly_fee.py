"""Australia's monthly fee: charged once per organization and month; unpaid suspends sending."""

import datetime
import threading

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection

from credits import payments
from credits.models import CreditAccount, LedgerEntry, Purchase
from credits.selectors import sending_suspended, sending_suspended_reason
from tests.credits.conftest import DECLINED_ON_CHARGE, add_card, stripe_get
from tests.factories import OrganizationFactory, StaffMemberFactory

Status = Purchase.Status
MAY = datetime.date(2026, 5, 3)
JUNE = datetime.date(2026, 6, 1)
pytestmark = pytest.mark.usefixtures("stripe_backend", "eager_tasks")


def fees(org):
    return Purchase.objects.for_org(org).filter(kind=Purchase.Kind.MONTHLY_FEE)


def run_beat(today, capture):
    with capture(execute=True):
        return payments.monthly_fees_charge(today=today)


@pytest.fixture
def au_org(db):
    org = OrganizationFactory(country="AU", time_zone="Australia/Sydney")
    StaffMemberFactory(organization=org, role="admin", email="owner@swim.test")
    return org


@pytest.mark.django_db
def test_an_australian_organization_is_charged_the_fee_once_a_month(
    au_org, org, django_capture_on_commit_callbacks
):
    add_card(au_org)
    add_card(org)  # a US organization: no fee
    first = run_beat(MAY, django_capture_on_commit_callbacks)
    again = run_beat(MAY.replace(day=28), django_capture_on_commit_callbacks)
    june = run_beat(JUNE, django_capture_on_commit_callbacks)

    assert (first["started"], again["started"], again["already"], june["started"]) == (1, 0, 1, 1)
    assert list(
        fees(au_org).order_by("period").values_list("period", "status", "amount_cents")
    ) == [
        (datetime.date(2026, 5, 1), Status.SUCCEEDED, 1000),
        (datetime.date(2026, 6, 1), Status.SUCCEEDED, 1000),
    ]
    assert not fees(org).exists()
    entries = LedgerEntry.objects.for_org(au_org).filter(kind=LedgerEntry.Kind.MONTHLY_FEE)
    assert sorted(entries.values_list("reference", "credits", "amount_cents")) == [
        ("monthly-fee:2026-05", 0, 1000),
        ("monthly-fee:2026-06", 0, 1000),
    ]


@pytest.mark.django_db
def test_the_fee_amount_comes_from_settings(au_org, settings, django_capture_on_commit_callbacks):
    settings.AU_MONTHLY_FEE_CENTS = 1250
    add_card(au_org)
    run_beat(MAY, django_capture_on_commit_callbacks)
    purchase = fees(au_org).get()
    intent = stripe_get(settings, f"/v1/payment_intents/{purchase.stripe_payment_intent_id}")
    assert intent["amount"] == 1250


@pytest.mark.django_db
def test_no_fee_is_charged_when_it_is_set_to_zero(
    au_org, settings, django_capture_on_commit_callbacks
):
    settings.AU_MONTHLY_FEE_CENTS = 0
    add_card(au_org)
    run_beat(MAY, django_capture_on_commit_callbacks)
    assert not fees(au_org).exists()


@pytest.mark.django_db
def test_a_declined_fee_suspends_sending_and_tells_the_admins(
    au_org, django_capture_on_commit_callbacks
):
    add_card(au_org, DECLINED_ON_CHARGE)
    run_beat(MAY, django_capture_on_commit_callbacks)
    assert fees(au_org).get().status == Status.FAILED
    assert sending_suspended(organization=au_org)
    assert "May 2026" in sending_suspended_reason(organization=au_org)
    assert [m.to for m in mail.outbox] == [["owner@swim.test"]]
    assert "Your card was declined." in mail.outbox[0].body


@pytest.mark.django_db
def test_a_failed_fee_is_not_retried_by_the_beat_the_same_month(
    au_org, django_capture_on_commit_callbacks
):
    add_card(au_org, DECLINED_ON_CHARGE)
    run_beat(MAY, django_capture_on_commit_callbacks)
    run_beat(MAY, django_capture_on_commit_callbacks)
    assert fees(au_org).count() == 1


@pytest.mark.django_db
def test_without_a_card_the_fee_fails_and_suspends_sending(
    au_org, django_capture_on_commit_callbacks
):
    run_beat(MAY, django_capture_on_commit_callbacks)
    assert "no card on file" in fees(au_org).get().failure_message
    assert sending_suspended(organization=au_org)


@pytest.mark.django_db
def test_paying_the_fee_lifts_the_suspension(au_org, django_capture_on_commit_callbacks):
    add_card(au_org, DECLINED_ON_CHARGE)
    run_beat(MAY, django_capture_on_commit_callbacks)
    add_card(au_org)
    paid = payments.monthly_fee_pay_now(organization=au_org)
    assert (paid.status, paid.period) == (Status.SUCCEEDED, datetime.date(2026, 5, 1))
    assert not sending_suspended(organization=au_org)
    assert CreditAccount.objects.get(organization=au_org).sending_suspended_reason == ""
    assert list(fees(au_org).values_list("status", flat=True)) == [Status.SUCCEEDED, Status.FAILED]


@pytest.mark.django_db
def test_paying_again_after_the_fee_is_paid_does_nothing(
    au_org, django_capture_on_commit_callbacks
):
    add_card(au_org, DECLINED_ON_CHARGE)
    run_beat(MAY, django_capture_on_commit_callbacks)
    add_card(au_org)
    payments.monthly_fee_pay_now(organization=au_org)
    assert payments.monthly_fee_pay_now(organization=au_org) is None
    assert fees(au_org).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_beats_at_once_charge_each_organization_once(settings):
    orgs = [OrganizationFactory(country="AU") for _ in range(3)]
    for org in orgs:
        add_card(org)
    barrier = threading.Barrier(4)

    def beat() -> None:
        try:
            barrier.wait()
            payments.monthly_fees_charge(today=MAY)
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for org in orgs:
        assert fees(org).count() == 1
        assert fees(org).get().status == Status.SUCCEEDED


def test_the_beat_schedule_runs_the_monthly_fee_and_the_purchase_sweep():
    tasks = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"credits.tasks.monthly_fees_charge", "credits.tasks.purchases_sweep"} <= tasks
