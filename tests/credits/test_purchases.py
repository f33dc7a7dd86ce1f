"""Cards on file and purchases, against localstripe through the real stripe SDK."""

import pytest

from credits import payments
from credits import stripe_gateway as gateway
from credits.models import CreditAccount, LedgerEntry, Purchase
from credits.selectors import credits_balance
from tests.credits.conftest import (
    DECLINED_ON_CHARGE,
    DECLINED_ON_SAVE,
    GOOD_CARD,
    NEEDS_3DS,
    add_card,
    stripe_get,
)
from tests.factories import OrganizationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_backend")]
Status = Purchase.Status


def buy(org, credits: int = 1000) -> Purchase:
    purchase = payments.purchase_create(organization=org, credits=credits)
    return payments.purchase_charge(purchase_id=purchase.id)


def test_a_test_card_is_saved_with_its_brand_and_last_four(org):
    account = add_card(org)
    account.refresh_from_db()
    assert (account.card_brand, account.card_last4, account.card_exp_month) == ("visa", "4242", 12)
    assert account.stripe_customer_id.startswith("cus_")
    assert account.card_payment_method_id.startswith("pm_")


def test_a_card_declined_when_saved_is_not_kept_and_says_why(org):
    with pytest.raises(gateway.CardDeclined, match=r"Your card was declined\."):
        add_card(org, DECLINED_ON_SAVE)
    assert not CreditAccount.objects.get(organization=org).has_card


def test_replacing_the_card_keeps_the_new_one_and_detaches_the_old(org, settings):
    old = add_card(org).card_payment_method_id
    account = add_card(org, "5555555555554444")
    assert account.card_last4 == "4444"
    assert account.card_payment_method_id != old
    assert stripe_get(settings, f"/v1/payment_methods/{old}")["customer"] is None


def test_removing_the_card_forgets_it_here_and_at_stripe(org, settings):
    method = add_card(org).card_payment_method_id
    payments.card_remove(organization=org)
    account = CreditAccount.objects.get(organization=org)
    assert (account.has_card, account.card_last4) == (False, "")
    assert stripe_get(settings, f"/v1/payment_methods/{method}")["customer"] is None


def test_buying_credits_charges_the_card_and_credits_the_ledger_once(org, settings):
    add_card(org)
    purchase = buy(org, 2500)
    assert purchase.status == Status.SUCCEEDED
    assert credits_balance(organization=org) == 2500
    intent = stripe_get(settings, f"/v1/payment_intents/{purchase.stripe_payment_intent_id}")
    assert (intent["amount"], intent["currency"], intent["status"]) == (7500, "usd", "succeeded")
    assert intent["metadata"]["purchase_id"] == str(purchase.id)
    entry = LedgerEntry.objects.for_org(org).get(kind=LedgerEntry.Kind.PURCHASE)
    assert (entry.credits, entry.amount_cents, entry.purchase) == (2500, 7500, purchase)
    assert entry.reference == f"stripe:{purchase.stripe_payment_intent_id}"


def test_australian_credits_cost_eight_cents(settings):
    org = OrganizationFactory(country="AU")
    add_card(org)
    purchase = buy(org, 500)
    assert (purchase.amount_cents, purchase.unit_price_cents) == (4000, 8)


def test_charging_the_same_purchase_again_does_not_charge_twice(org, settings):
    add_card(org)
    purchase = buy(org, 500)
    again = payments.purchase_charge(purchase_id=purchase.id)
    assert again.stripe_payment_intent_id == purchase.stripe_payment_intent_id
    assert again.attempts == 1
    assert credits_balance(organization=org) == 500
    intents = stripe_get(settings, "/v1/payment_intents?limit=100")["data"]
    assert [i["metadata"].get("purchase_id") for i in intents].count(str(purchase.id)) == 1


def test_a_declined_payment_credits_nothing_and_keeps_the_cards_message(org):
    add_card(org, DECLINED_ON_CHARGE)
    purchase = buy(org, 500)
    assert purchase.status == Status.FAILED
    assert purchase.failure_message == "Your card was declined."
    assert credits_balance(organization=org) == 0
    assert not LedgerEntry.objects.for_org(org).exists()


def test_buying_without_a_card_on_file_is_refused_before_anything_is_recorded(org):
    with pytest.raises(payments.NoCardOnFile, match="Add a payment card first"):
        payments.purchase_create(organization=org, credits=500)
    assert not Purchase.objects.exists()


@pytest.mark.parametrize("credits", [0, -5, 10**9, "abc", 99, 100_001, 2.5, None])
def test_bad_quantities_are_refused_with_a_clear_message(org, credits):
    add_card(org)
    with pytest.raises(ValueError, match="from 100 to 100,000"):
        payments.purchase_create(organization=org, credits=credits)
    assert not Purchase.objects.exists()


@pytest.mark.parametrize("credits", [100, 777, 100_000, 10_000])
def test_custom_quantities_within_the_limits_are_accepted(org, credits):
    assert payments.validate_quantity(credits) == credits


def test_a_payment_that_needs_3d_secure_waits_and_says_what_to_do(org):
    add_card(org, NEEDS_3DS)
    purchase = buy(org, 500)
    assert purchase.status == Status.REQUIRES_ACTION
    assert "confirm" in purchase.failure_message
    assert credits_balance(organization=org) == 0


def test_a_3d_secure_payment_confirmed_with_the_bank_credits_once(org):
    add_card(org, NEEDS_3DS)
    purchase = buy(org, 500)
    gateway.payment_authenticate_test(
        payment_intent_id=purchase.stripe_payment_intent_id, approve=True
    )
    purchase = payments.purchase_refresh(purchase=purchase)
    payments.purchase_refresh(purchase=purchase)
    assert purchase.status == Status.SUCCEEDED
    assert credits_balance(organization=org) == 500
    assert LedgerEntry.objects.for_org(org).count() == 1


def test_a_3d_secure_payment_the_bank_refuses_fails_without_credits(org):
    add_card(org, NEEDS_3DS)
    purchase = buy(org, 500)
    gateway.payment_authenticate_test(
        payment_intent_id=purchase.stripe_payment_intent_id, approve=False
    )
    purchase = payments.purchase_refresh(purchase=purchase)
    assert purchase.status == Status.FAILED
    assert "failed authentication" in purchase.failure_message
    assert credits_balance(organization=org) == 0


def test_stripe_unreachable_leaves_the_purchase_pending_to_retry_with_the_same_key(org, settings):
    add_card(org)
    purchase = payments.purchase_create(organization=org, credits=500)
    working_base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens on the discard port
    with pytest.raises(gateway.PaymentUnavailable, match="Nothing was charged"):
        payments.purchase_charge(purchase_id=purchase.id)
    purchase.refresh_from_db()
    assert (purchase.status, purchase.charging_since) == (Status.PENDING, None)
    settings.STRIPE_API_BASE = working_base
    assert payments.purchase_charge(purchase_id=purchase.id).status == Status.SUCCEEDED
    assert credits_balance(organization=org) == 500


def test_card_numbers_are_refused_when_talking_to_real_stripe(org, settings):
    settings.STRIPE_API_BASE = "https://api.stripe.com"
    with pytest.raises(gateway.PaymentError, match="test-mode form"):
        gateway.setup_intent_confirm_test_card(
            setup_intent_id="seti_x", number=GOOD_CARD, exp_month=1, exp_year=2030, cvc="123"
        )
