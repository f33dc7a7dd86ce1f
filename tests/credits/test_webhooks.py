"""Stripe's webhook: signed, idempotent, and racing the synchronous answer."""

import hashlib
import hmac
import json
import threading
import time

import pytest
import requests
from django.core import mail
from django.db import connection
from django.test import Client

from credits import payments
from credits import stripe_gateway as gateway
from credits.models import CreditAccount, LedgerEntry, Purchase
from credits.selectors import credits_balance
from credits.services import credits_debit
from tests.credits.conftest import add_card, post_event, stripe_get, stripe_post
from tests.factories import OrganizationFactory, StaffMemberFactory

Status = Purchase.Status


def purchase_entries(org) -> int:
    return LedgerEntry.objects.for_org(org).filter(kind=LedgerEntry.Kind.PURCHASE).count()


def charge_behind_our_back(purchase: Purchase) -> dict:
    """Charge at Stripe as purchase_charge would, but leave our database as if the answer was
    lost: only a webhook can tell us now."""
    account = CreditAccount.objects.get(organization_id=purchase.organization_id)
    payment = gateway.payment_create(
        customer_id=account.stripe_customer_id,
        payment_method_id=account.card_payment_method_id,
        amount_cents=purchase.amount_cents,
        idempotency_key=f"purchase-{purchase.id}",
        metadata={
            "purchase_id": str(purchase.id),
            "organization_id": str(purchase.organization_id),
        },
    )
    return stripe_get_intent(payment.id)


def stripe_get_intent(intent_id: str) -> dict:
    from django.conf import settings

    return stripe_get(settings, f"/v1/payment_intents/{intent_id}")


@pytest.fixture
def paid_at_stripe(stripe_backend, org):
    """A purchase Stripe charged whose answer we never saw; yields (purchase, intent)."""
    add_card(org)
    purchase = payments.purchase_create(organization=org, credits=1000)
    return purchase, charge_behind_our_back(purchase)


@pytest.mark.django_db
def test_a_webhook_without_a_valid_signature_is_refused_and_changes_nothing(
    client, stripe_backend, paid_at_stripe, org
):
    purchase, intent = paid_at_stripe
    forged = post_event(client, stripe_backend, "payment_intent.succeeded", intent, secret="nope")
    unsigned = client.post("/credits/stripe/webhook/", data=b"{}", content_type="application/json")
    assert (forged.status_code, unsigned.status_code) == (400, 400)
    purchase.refresh_from_db()
    assert purchase.status == Status.PENDING
    assert credits_balance(organization=org) == 0


@pytest.mark.django_db
def test_webhooks_are_refused_when_no_secret_is_configured(client, stripe_backend, org):
    stripe_backend.STRIPE_WEBHOOK_SECRET = ""
    response = post_event(client, stripe_backend, "payment_intent.succeeded", {}, secret="x")
    assert response.status_code == 400


@pytest.mark.django_db
def test_a_succeeded_webhook_credits_a_purchase_whose_answer_was_lost(
    client, stripe_backend, paid_at_stripe, org
):
    purchase, intent = paid_at_stripe
    response = post_event(client, stripe_backend, "payment_intent.succeeded", intent)
    assert response.status_code == 200
    purchase.refresh_from_db()
    assert (purchase.status, purchase.stripe_payment_intent_id) == (Status.SUCCEEDED, intent["id"])
    assert credits_balance(organization=org) == 1000


@pytest.mark.django_db
def test_a_replayed_webhook_credits_once(client, stripe_backend, paid_at_stripe, org):
    _purchase, intent = paid_at_stripe
    for _ in range(3):
        response = post_event(client, stripe_backend, "payment_intent.succeeded", intent)
        assert response.status_code == 200
    assert credits_balance(organization=org) == 1000
    assert purchase_entries(org) == 1


@pytest.mark.django_db
def test_the_webhook_first_then_the_synchronous_answer_credits_once(
    client, stripe_backend, paid_at_stripe, org
):
    purchase, intent = paid_at_stripe
    post_event(client, stripe_backend, "payment_intent.succeeded", intent)
    payments.payment_apply(
        purchase_id=purchase.id, payment=gateway.payment_retrieve(payment_intent_id=intent["id"])
    )
    assert credits_balance(organization=org) == 1000
    assert purchase_entries(org) == 1


@pytest.mark.django_db
def test_the_synchronous_answer_first_then_the_webhook_credits_once(client, stripe_backend, org):
    add_card(org)
    purchase = payments.purchase_charge(
        purchase_id=payments.purchase_create(organization=org, credits=500).id
    )
    intent = stripe_get_intent(purchase.stripe_payment_intent_id)
    response = post_event(client, stripe_backend, "payment_intent.succeeded", intent)
    assert response.status_code == 200
    assert credits_balance(organization=org) == 500
    assert purchase_entries(org) == 1


@pytest.mark.django_db(transaction=True)
def test_the_webhook_and_the_synchronous_answer_at_the_same_moment_credit_once(stripe_backend):
    org = OrganizationFactory()
    add_card(org)
    purchase = payments.purchase_create(organization=org, credits=1000)
    intent = charge_behind_our_back(purchase)
    payment = gateway.payment_retrieve(payment_intent_id=intent["id"])
    barrier = threading.Barrier(8)
    errors: list[Exception] = []

    def sync_answer() -> None:
        try:
            barrier.wait()
            payments.payment_apply(purchase_id=purchase.id, payment=payment)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    def webhook() -> None:
        try:
            barrier.wait()
            post_event(Client(), stripe_backend, "payment_intent.succeeded", intent)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sync_answer) for _ in range(4)]
    threads += [threading.Thread(target=webhook) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert credits_balance(organization=org) == 1000
    assert purchase_entries(org) == 1


@pytest.mark.django_db
def test_a_payment_failed_webhook_marks_the_purchase_failed_without_credits(
    client, stripe_backend, org
):
    add_card(org)
    purchase = payments.purchase_create(organization=org, credits=500)
    intent = {
        "id": "pi_failed_elsewhere",
        "object": "payment_intent",
        "amount": purchase.amount_cents,
        "customer": CreditAccount.objects.get(organization=org).stripe_customer_id,
        "metadata": {"purchase_id": str(purchase.id)},
        "status": "requires_payment_method",
        "last_payment_error": {"message": "Your card has insufficient funds."},
    }
    response = post_event(client, stripe_backend, "payment_intent.payment_failed", intent)
    assert response.status_code == 200
    purchase.refresh_from_db()
    assert (purchase.status, purchase.failure_message) == (
        Status.FAILED,
        "Your card has insufficient funds.",
    )
    assert credits_balance(organization=org) == 0


@pytest.mark.django_db
def test_a_webhook_naming_another_customers_purchase_is_ignored(client, stripe_backend, org):
    add_card(org)
    purchase = payments.purchase_create(organization=org, credits=500)
    intent = {
        "id": "pi_someone_else",
        "amount": purchase.amount_cents,
        "customer": "cus_someone_else",
        "metadata": {"purchase_id": str(purchase.id)},
        "status": "succeeded",
    }
    response = post_event(client, stripe_backend, "payment_intent.succeeded", intent)
    assert response.status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == Status.PENDING
    assert credits_balance(organization=org) == 0


@pytest.mark.django_db
def test_unknown_events_and_unknown_payments_get_200_and_change_nothing(client, stripe_backend):
    unknown_type = post_event(client, stripe_backend, "customer.created", {"id": "cus_1"})
    unknown_intent = post_event(
        client, stripe_backend, "payment_intent.succeeded", {"id": "pi_nobody", "metadata": {}}
    )
    assert (unknown_type.status_code, unknown_intent.status_code) == (200, 200)
    assert not LedgerEntry.objects.exists()


def refund_at_stripe(settings, purchase: Purchase, amount: int | None = None) -> dict:
    data = {"payment_intent": purchase.stripe_payment_intent_id}
    if amount:
        data["amount"] = amount
    stripe_post(settings, "/v1/refunds", **data)
    return stripe_get(settings, f"/v1/charges/{purchase.stripe_charge_id}")


@pytest.mark.django_db
def test_a_refunded_charge_takes_its_credits_back_once(client, stripe_backend, org):
    add_card(org)
    purchase = payments.purchase_charge(
        purchase_id=payments.purchase_create(organization=org, credits=1000).id
    )
    charge = refund_at_stripe(stripe_backend, purchase)
    assert charge["amount_refunded"] == 3000
    for _ in range(2):
        assert post_event(client, stripe_backend, "charge.refunded", charge).status_code == 200
    assert credits_balance(organization=org) == 0
    purchase.refresh_from_db()
    assert (purchase.refunded_cents, purchase.refunded_credits) == (3000, 1000)
    assert LedgerEntry.objects.for_org(org).filter(kind=LedgerEntry.Kind.ADJUSTMENT).count() == 1


@pytest.mark.django_db
def test_partial_refunds_take_back_their_share_each_time(client, stripe_backend, org):
    add_card(org)
    purchase = payments.purchase_charge(
        purchase_id=payments.purchase_create(organization=org, credits=1000).id
    )
    post_event(
        client, stripe_backend, "charge.refunded", refund_at_stripe(stripe_backend, purchase, 600)
    )
    post_event(
        client, stripe_backend, "charge.refunded", refund_at_stripe(stripe_backend, purchase, 900)
    )
    assert credits_balance(organization=org) == 500
    purchase.refresh_from_db()
    assert (purchase.refunded_cents, purchase.refunded_credits) == (1500, 500)


@pytest.mark.django_db
def test_refunded_credits_already_spent_are_flagged_to_the_admins(
    client, stripe_backend, org, eager_tasks, django_capture_on_commit_callbacks
):
    StaffMemberFactory(organization=org, role="admin", email="owner@gym.test")
    add_card(org)
    purchase = payments.purchase_charge(
        purchase_id=payments.purchase_create(organization=org, credits=1000).id
    )
    credits_debit(organization=org, credits=700, reference="broadcast:1")
    charge = refund_at_stripe(stripe_backend, purchase)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, stripe_backend, "charge.refunded", charge)
    assert credits_balance(organization=org) == 0
    purchase.refresh_from_db()
    assert (purchase.refunded_credits, purchase.refund_shortfall_credits) == (300, 700)
    assert [m.to for m in mail.outbox] == [["owner@gym.test"]]
    assert "700 of its credits had already been spent" in mail.outbox[0].body


@pytest.mark.django_db(transaction=True)
def test_localstripe_delivers_a_signed_webhook_that_credits_the_purchase(
    stripe_backend, live_server
):
    """The whole path: localstripe signs and posts payment_intent.succeeded to our server."""
    registered = requests.post(
        f"{stripe_backend.STRIPE_API_BASE}/_config/webhooks/pytest",
        data={
            "url": f"{live_server.url}/credits/stripe/webhook/",
            "secret": stripe_backend.STRIPE_WEBHOOK_SECRET,
            "events[]": "payment_intent.succeeded",
        },
        timeout=10,
    )
    assert registered.status_code == 200
    org = OrganizationFactory()
    add_card(org)
    purchase = payments.purchase_create(organization=org, credits=500)
    charge_behind_our_back(purchase)
    deadline = time.monotonic() + 20  # localstripe waits a second before it posts
    while time.monotonic() < deadline and credits_balance(organization=org) == 0:
        time.sleep(0.2)
    purchase.refresh_from_db()
    assert purchase.status == Status.SUCCEEDED
    assert credits_balance(organization=org) == 500


# --- correctly signed events of the wrong shape: a 400 with the reason, nothing written ---


def _post_signed(client, settings, body) -> object:
    """Post ``body`` (an object as JSON, or raw bytes) signed as Stripe signs, whatever it is."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    timestamp = int(time.time())
    signature = hmac.new(
        settings.STRIPE_WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256
    ).hexdigest()
    return client.post(
        "/credits/stripe/webhook/",
        data=raw,
        content_type="application/json",
        headers={"Stripe-Signature": f"t={timestamp},v1={signature}"},
    )


def _envelope(kind, data) -> dict:
    return {"id": "evt_bad", "object": "event", "type": kind, "data": data}


MALFORMED = {
    "data a string": _envelope("payment_intent.succeeded", "nope"),
    "data without object": _envelope("payment_intent.succeeded", {}),
    "object a list": _envelope("charge.refunded", {"object": [1, 2]}),
    "type a list": _envelope(["charge.refunded"], {"object": {}}),
    "amount_refunded a string": _envelope(
        "charge.refunded", {"object": {"payment_intent": "pi_1", "amount_refunded": "lots"}}
    ),
    "amount_refunded missing": _envelope("charge.refunded", {"object": {"payment_intent": "pi_1"}}),
    "amount_refunded negative": _envelope(
        "charge.refunded", {"object": {"payment_intent": "pi_1", "amount_refunded": -5}}
    ),
    "payment_intent a number": _envelope(
        "charge.refunded", {"object": {"payment_intent": 7, "amount_refunded": 100}}
    ),
    "intent without id": _envelope("payment_intent.succeeded", {"object": {"amount": 3000}}),
    "intent id a number": _envelope("payment_intent.succeeded", {"object": {"id": 12}}),
    "metadata a string": _envelope(
        "payment_intent.succeeded", {"object": {"id": "pi_1", "metadata": "purchase_id=1"}}
    ),
    "amount a float": _envelope(
        "payment_intent.succeeded", {"object": {"id": "pi_1", "amount": 30.5}}
    ),
    "customer a list": _envelope(
        "payment_intent.payment_failed", {"object": {"id": "pi_1", "customer": ["cus_1"]}}
    ),
    "error message a number": _envelope(
        "payment_intent.payment_failed",
        {"object": {"id": "pi_1", "last_payment_error": {"message": 42}}},
    ),
    "a NUL in an id": _envelope("payment_intent.succeeded", {"object": {"id": "pi_\x00"}}),
    "not an object": [1, 2, 3],
    "a string": "payment_intent.succeeded",
}


@pytest.mark.django_db
@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_signed_event_of_the_wrong_shape_is_a_400_and_changes_nothing(
    client, stripe_backend, paid_at_stripe, org, body
):
    purchase, _intent = paid_at_stripe
    response = _post_signed(client, stripe_backend, body)
    assert response.status_code == 400
    assert response.content.decode().startswith("Malformed event: ")
    purchase.refresh_from_db()
    assert purchase.status == Status.PENDING
    assert LedgerEntry.objects.for_org(org).count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [b"[" * 50_000 + b"]" * 50_000, b"{not json", b'{"type": "charge.refunded"'],
    ids=["deeply nested", "not json", "cut short"],
)
def test_a_signed_body_that_is_no_json_event_is_a_400(client, stripe_backend, body):
    response = _post_signed(client, stripe_backend, body)
    assert response.status_code == 400
    assert response.content.decode().startswith("Malformed event: ")


@pytest.mark.django_db
def test_a_refund_of_the_right_shape_for_a_real_purchase_still_counts(
    client, stripe_backend, paid_at_stripe, org
):
    purchase, intent = paid_at_stripe
    assert post_event(client, stripe_backend, "payment_intent.succeeded", intent).status_code == 200
    charge = {"payment_intent": {"id": intent["id"]}, "amount_refunded": purchase.amount_cents}
    response = post_event(client, stripe_backend, "charge.refunded", charge)
    assert (response.status_code, response.content) == (200, b"changed")


@pytest.mark.django_db
def test_an_event_type_we_do_not_handle_is_ignored_whatever_its_shape(client, stripe_backend):
    response = _post_signed(client, stripe_backend, _envelope("customer.updated", "whatever"))
    assert response.status_code == 200
    assert response.content == b"ignored: not an event type we handle"
