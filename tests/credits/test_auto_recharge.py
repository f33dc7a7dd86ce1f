"""Auto-recharge: one purchase when a debit leaves the balance under the threshold."""

import threading

import pytest
from django.core import mail
from django.db import connection

from credits import payments, tasks
from credits.models import CreditAccount, LedgerEntry, Purchase
from credits.selectors import credits_balance
from credits.services import auto_recharge_update, credits_debit
from tests.credits.conftest import DECLINED_ON_CHARGE, add_card, stripe_get
from tests.credits.factories import fund
from tests.factories import OrganizationFactory, StaffMemberFactory

Status = Purchase.Status
pytestmark = pytest.mark.usefixtures("stripe_backend")


def auto_purchases(org):
    return Purchase.objects.for_org(org).filter(source=Purchase.Source.AUTO_RECHARGE)


def set_up(org, *, card: str = "4242424242424242", balance: int, threshold: int, pack: int):
    add_card(org, card)
    fund(org, balance)
    auto_recharge_update(organization=org, enabled=True, threshold=threshold, pack=pack)


@pytest.mark.django_db
def test_a_debit_under_the_threshold_buys_the_pack(
    org, eager_tasks, django_capture_on_commit_callbacks
):
    set_up(org, balance=600, threshold=500, pack=1000)
    with django_capture_on_commit_callbacks(execute=True):
        credits_debit(organization=org, credits=200, reference="broadcast:1")
    purchase = auto_purchases(org).get()
    assert (purchase.status, purchase.credits, purchase.amount_cents) == (
        Status.SUCCEEDED,
        1000,
        3000,
    )
    assert credits_balance(organization=org) == 1400


@pytest.mark.django_db
def test_a_debit_that_stays_above_the_threshold_buys_nothing(
    org, eager_tasks, django_capture_on_commit_callbacks
):
    set_up(org, balance=600, threshold=500, pack=1000)
    with django_capture_on_commit_callbacks(execute=True):
        credits_debit(organization=org, credits=100, reference="broadcast:1")
    assert not auto_purchases(org).exists()


@pytest.mark.django_db
def test_nothing_is_bought_when_auto_recharge_is_off_or_there_is_no_card(
    org, django_capture_on_commit_callbacks
):
    fund(org, 600)
    auto_recharge_update(organization=org, enabled=True, threshold=500, pack=1000)
    with django_capture_on_commit_callbacks(execute=True):
        credits_debit(organization=org, credits=200, reference="broadcast:1")
    assert not auto_purchases(org).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_debits_under_the_threshold_start_one_purchase(monkeypatch):
    org = OrganizationFactory()
    set_up(org, balance=1000, threshold=5000, pack=1000)  # every debit lands under it
    enqueued: list[int] = []
    monkeypatch.setattr(tasks.purchase_charge, "delay", enqueued.append)
    barrier = threading.Barrier(20)

    def debit(n: int) -> None:
        try:
            barrier.wait()
            credits_debit(organization=org, credits=10, reference=f"broadcast:{n}")
        finally:
            connection.close()

    threads = [threading.Thread(target=debit, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(enqueued) == 1
    assert auto_purchases(org).count() == 1
    assert payments.purchase_charge(purchase_id=enqueued[0]).status == Status.SUCCEEDED
    assert credits_balance(organization=org) == 1000 - 200 + 1000


@pytest.mark.django_db(transaction=True)
def test_concurrent_debits_with_the_charge_running_at_once_buy_once(settings, eager_tasks):
    org = OrganizationFactory()
    set_up(org, balance=600, threshold=500, pack=1000)
    barrier = threading.Barrier(20)

    def debit(n: int) -> None:
        try:
            barrier.wait()
            credits_debit(organization=org, credits=10, reference=f"broadcast:{n}")
        finally:
            connection.close()

    threads = [threading.Thread(target=debit, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert auto_purchases(org).count() == 1
    assert credits_balance(organization=org) == 600 - 200 + 1000
    customer = CreditAccount.objects.get(organization=org).stripe_customer_id
    intents = stripe_get(settings, "/v1/payment_intents?limit=100")["data"]
    assert [i["customer"] for i in intents].count(customer) == 1


@pytest.mark.django_db
def test_three_failures_in_a_row_email_the_admins_and_turn_auto_recharge_off(
    org, eager_tasks, django_capture_on_commit_callbacks
):
    StaffMemberFactory(organization=org, role="admin", email="owner@gym.test")
    StaffMemberFactory(organization=org, role="staff", email="coach@gym.test")
    set_up(org, card=DECLINED_ON_CHARGE, balance=1000, threshold=5000, pack=500)
    for n in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            credits_debit(organization=org, credits=10, reference=f"broadcast:{n}")

    account = CreditAccount.objects.get(organization=org)
    assert (account.auto_recharge_enabled, account.auto_recharge_failures) == (False, 3)
    assert list(auto_purchases(org).values_list("status", flat=True)) == [Status.FAILED] * 3
    assert [m.to for m in mail.outbox] == [["owner@gym.test"]] * 3
    assert "Your card was declined." in mail.outbox[0].body
    assert "now off" in mail.outbox[2].subject
    assert credits_balance(organization=org) == 960
    assert not LedgerEntry.objects.for_org(org).filter(kind=LedgerEntry.Kind.PURCHASE).exists()


@pytest.mark.django_db
def test_a_success_resets_the_failure_count(org, eager_tasks, django_capture_on_commit_callbacks):
    set_up(org, card=DECLINED_ON_CHARGE, balance=1000, threshold=600, pack=500)
    with django_capture_on_commit_callbacks(execute=True):
        credits_debit(organization=org, credits=500, reference="broadcast:1")
    assert CreditAccount.objects.get(organization=org).auto_recharge_failures == 1
    add_card(org)  # a working card replaces the declining one
    with django_capture_on_commit_callbacks(execute=True):
        credits_debit(organization=org, credits=10, reference="broadcast:2")
    account = CreditAccount.objects.get(organization=org)
    assert (account.auto_recharge_enabled, account.auto_recharge_failures) == (True, 0)
    assert credits_balance(organization=org) == 990


@pytest.mark.django_db
def test_turning_auto_recharge_back_on_forgets_old_failures(org):
    CreditAccount.objects.create(organization=org, auto_recharge_failures=3)
    account = auto_recharge_update(organization=org, enabled=True, threshold=100, pack=500)
    assert account.auto_recharge_failures == 0


@pytest.mark.django_db
def test_auto_recharge_only_buys_packs(org):
    with pytest.raises(ValueError, match="not one of the packs"):
        auto_recharge_update(organization=org, enabled=True, threshold=100, pack=777)
