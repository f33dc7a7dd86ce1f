"""The credits pages and API: who may do what, buying through the forms, ledger and CSV."""

import csv
import datetime
import io
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from credits import payments
from credits.models import CreditAccount, LedgerEntry, Purchase
from credits.selectors import credits_balance
from credits.services import credits_debit, credits_refund
from tests.credits.conftest import DECLINED_ON_CHARGE, DECLINED_ON_SAVE, NEEDS_3DS, add_card
from tests.credits.factories import PurchaseFactory, fund

pytestmark = pytest.mark.django_db
QUANTITY_MESSAGE = "Choose a pack, or a whole number of credits from 100 to 100,000."
ADMIN_ONLY = [
    ("credits:sms_voice_settings", {}),
    ("credits:card", {}),
    ("credits:buy", {}),
    ("credits:auto_recharge", {}),
    ("credits:purchase_list", {}),
]


def text(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def review_and_confirm(client, **data):
    """The buy form's two steps, as the browser posts them."""
    review = client.post(reverse("credits:buy"), data)
    assert review.status_code == 200, text(review)
    token = review.context["token"]
    return client.post(reverse("credits:buy"), {**data, "step": "confirm", "token": token})


# --- who may see and do what -----------------------------------------------------------------


def test_staff_see_the_balance_and_ledger_but_no_buying(staff_client, org):
    fund(org, 1234)
    response = staff_client.get(reverse("credits:balance"))
    assert response.status_code == 200
    assert "1,234" in text(response)
    assert "Only an admin can buy credits." in text(response)
    assert reverse("credits:buy") not in text(response)


@pytest.mark.parametrize(("name", "kwargs"), ADMIN_ONLY)
def test_staff_without_the_admin_role_get_403_on_billing_pages(staff_client, name, kwargs):
    assert staff_client.get(reverse(name, kwargs=kwargs)).status_code == 403


def test_staff_without_the_admin_role_get_403_when_they_post_a_purchase(staff_client, org):
    CreditAccount.objects.create(organization=org, card_payment_method_id="pm_x", card_last4="4242")
    response = staff_client.post(
        reverse("credits:buy"), {"pack": "1000", "step": "confirm", "token": "t"}
    )
    assert response.status_code == 403
    assert not Purchase.objects.exists()
    for name in ("credits:card_remove", "credits:monthly_fee_pay"):
        assert staff_client.post(reverse(name)).status_code == 403
    assert CreditAccount.objects.get(organization=org).has_card


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("credits:balance"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_another_organization_cannot_see_the_ledger_or_receipts(admin_client, org, other_org):
    fund(other_org, 777)
    credits_debit(organization=other_org, credits=7, reference="broadcast:secret")
    theirs = PurchaseFactory(organization=other_org)
    fund(org, 5)

    page = text(admin_client.get(reverse("credits:balance")))
    exported = text(admin_client.get(reverse("credits:ledger_csv")))
    api = admin_client.get("/api/v1/credits/ledger/").json()
    assert "broadcast:secret" not in page and "770" not in page
    assert "broadcast:secret" not in exported
    assert [e["credits"] for e in api["results"]] == [5]
    assert admin_client.get("/api/v1/credits/balance/").json()["balance"] == 5
    for name in ("credits:receipt", "credits:purchase_confirm", "credits:purchase_retry"):
        method = admin_client.get if name == "credits:receipt" else admin_client.post
        assert method(reverse(name, args=[theirs.id])).status_code == 404


# --- card on file ----------------------------------------------------------------------------


def test_an_admin_adds_a_test_card_and_sees_its_brand_and_last_four(
    admin_client, org, stripe_backend
):
    response = admin_client.post(
        reverse("credits:card"),
        {"number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "34", "cvc": "123"},
        follow=True,
    )
    assert "Card on file: Visa ending 4242." in text(response)
    assert "Visa ending 4242" in text(admin_client.get(reverse("credits:sms_voice_settings")))


def test_the_elements_path_saves_the_card_a_browser_confirmed_on_a_setup_intent(
    admin_client, org, stripe_backend
):
    """What Stripe Elements does in production: get a SetupIntent's client secret, confirm the
    card with Stripe from the browser (played here by the gateway), post back only its id."""
    from credits import stripe_gateway as gateway

    secret = admin_client.post(reverse("credits:card_setup_intent")).json()["client_secret"]
    setup_intent_id = secret.split("_secret_")[0]
    gateway.setup_intent_confirm_test_card(
        setup_intent_id=setup_intent_id,
        number="5555555555554444",
        exp_month=11,
        exp_year=2033,
        cvc="123",
    )
    response = admin_client.post(
        reverse("credits:card"), {"setup_intent_id": setup_intent_id}, follow=True
    )
    assert "ending 4444" in text(response)
    account = CreditAccount.objects.get(organization=org)
    assert (account.card_last4, account.card_exp_month, account.card_exp_year) == ("4444", 11, 2033)


def test_a_setup_intent_of_another_customer_is_refused(
    admin_client, org, other_org, stripe_backend
):
    add_card(other_org)
    theirs = payments.card_setup_start(organization=other_org)[0]
    response = admin_client.post(reverse("credits:card"), {"setup_intent_id": theirs})
    assert "belongs to someone else" in text(response)
    assert not CreditAccount.objects.get(organization=org).has_card


def test_the_test_card_form_says_it_is_test_mode(admin_client, stripe_backend):
    page = text(admin_client.get(reverse("credits:card")))
    assert "Test mode." in page
    assert "4242 4242 4242 4242" in page


def test_a_declined_card_shows_the_cards_message_and_is_not_kept(admin_client, org, stripe_backend):
    response = admin_client.post(
        reverse("credits:card"),
        {"number": DECLINED_ON_SAVE, "exp_month": "12", "exp_year": "2034", "cvc": "123"},
    )
    assert "The card was not saved: Your card was declined." in text(response)
    assert not CreditAccount.objects.get(organization=org).has_card


def test_an_expired_or_malformed_card_is_refused_before_stripe(admin_client, org, stripe_backend):
    response = admin_client.post(
        reverse("credits:card"),
        {"number": "4242", "exp_month": "1", "exp_year": "2001", "cvc": "1"},
    )
    page = text(response)
    assert "Enter the 16 digits of a test card" in page
    assert "Enter the 3 digits of the security code." in page
    assert (
        not CreditAccount.objects.filter(organization=org).exclude(stripe_customer_id="").exists()
    )


def test_an_admin_removes_the_card(admin_client, org, stripe_backend):
    add_card(org)
    response = admin_client.post(reverse("credits:card_remove"), follow=True)
    assert "The card was removed." in text(response)
    assert not CreditAccount.objects.get(organization=org).has_card


def test_card_pages_explain_when_payments_are_not_set_up(admin_client, settings):
    settings.PAYMENTS_BACKEND = "outbox"
    settings.STRIPE_SECRET_KEY = ""
    assert "Card payments are not set up" in text(admin_client.get(reverse("credits:card")))


# --- buying ----------------------------------------------------------------------------------


def test_the_buy_page_shows_the_prices(admin_client, org, stripe_backend):
    add_card(org)
    page = text(admin_client.get(reverse("credits:buy")))
    assert "1 credit = US$0.03" in page
    assert "2,500 credits" in page and "US$75.00" in page
    assert "100 to 100,000" in page


def test_australian_prices_show_the_monthly_fee_and_sms_only(admin_client, org, stripe_backend):
    org.country = "AU"
    org.save()
    page = text(admin_client.get(reverse("credits:buy")))
    assert "1 credit = US$0.08" in page
    assert "monthly fee of <strong>US$10.00</strong>" in page
    assert "SMS only" in page


def test_an_admin_buys_a_pack_after_seeing_the_total(admin_client, org, stripe_backend):
    add_card(org)
    review = admin_client.post(reverse("credits:buy"), {"pack": "1000"})
    assert "US$30.00" in text(review)
    assert not Purchase.objects.exists()  # nothing is bought before confirming
    response = admin_client.post(
        reverse("credits:buy"),
        {"pack": "1000", "step": "confirm", "token": review.context["token"]},
        follow=True,
    )
    assert "Paid. 1,000 credits were added." in text(response)
    assert "Receipt #" in text(response)
    assert credits_balance(organization=org) == 1000


def test_a_custom_quantity_is_bought_at_the_unit_price(admin_client, org, stripe_backend):
    add_card(org)
    response = review_and_confirm(admin_client, pack="custom", custom_credits="1,234")
    purchase = Purchase.objects.get()
    assert (purchase.credits, purchase.amount_cents) == (1234, 3702)
    assert response.url == reverse("credits:receipt", args=[purchase.id])


def test_confirming_twice_with_the_same_form_pays_once(admin_client, org, stripe_backend):
    add_card(org)
    review = admin_client.post(reverse("credits:buy"), {"pack": "500"})
    confirm = {"pack": "500", "step": "confirm", "token": review.context["token"]}
    first = admin_client.post(reverse("credits:buy"), confirm)
    second = admin_client.post(reverse("credits:buy"), confirm)
    assert first.url == second.url
    assert Purchase.objects.count() == 1
    assert credits_balance(organization=org) == 500


@pytest.mark.parametrize("quantity", ["0", "-5", str(10**9), "abc", "", "99", "1.5"])
def test_bad_custom_quantities_get_a_clear_message_and_change_nothing(
    admin_client, org, stripe_backend, quantity
):
    add_card(org)
    for step in ("review", "confirm"):
        response = admin_client.post(
            reverse("credits:buy"),
            {"pack": "custom", "custom_credits": quantity, "step": step, "token": "t"},
        )
        assert response.status_code == 400
        assert QUANTITY_MESSAGE in text(response)
    assert not Purchase.objects.exists()
    assert credits_balance(organization=org) == 0


@pytest.mark.parametrize("pack", ["7", "-500", "abc", ""])
def test_a_pack_that_does_not_exist_is_refused(admin_client, org, stripe_backend, pack):
    add_card(org)
    response = admin_client.post(reverse("credits:buy"), {"pack": pack, "step": "confirm"})
    assert response.status_code == 400
    assert QUANTITY_MESSAGE in text(response)
    assert not Purchase.objects.exists()


def test_buying_without_a_card_on_file_says_to_add_one(admin_client, org, stripe_backend):
    assert "Add a payment card first" in text(admin_client.get(reverse("credits:buy")))
    response = admin_client.post(
        reverse("credits:buy"), {"pack": "500", "step": "confirm", "token": "t"}
    )
    assert response.status_code == 400
    assert "Add a payment card first" in text(response)
    assert not Purchase.objects.exists()


def test_a_declined_purchase_shows_the_cards_message_and_credits_nothing(
    admin_client, org, stripe_backend
):
    add_card(org, DECLINED_ON_CHARGE)
    response = review_and_confirm(admin_client, pack="500")
    page = text(admin_client.get(response.url))
    assert "The payment failed: Your card was declined." in page
    assert "no credits were added" in page
    assert credits_balance(organization=org) == 0


def test_3d_secure_says_what_to_do_and_approving_adds_the_credits(
    admin_client, org, stripe_backend
):
    add_card(org, NEEDS_3DS)
    receipt_url = review_and_confirm(admin_client, pack="500").url
    page = text(admin_client.get(receipt_url))
    assert "Your card&#x27;s bank asks you to confirm this payment" in page
    assert "Approve (test mode)" in page
    purchase = Purchase.objects.get()
    response = admin_client.post(
        reverse("credits:purchase_confirm", args=[purchase.id]), {"approve": "yes"}, follow=True
    )
    assert "Paid. 500 credits were added." in text(response)
    assert credits_balance(organization=org) == 500


def test_the_purchases_list_links_every_receipt(admin_client, org):
    purchases = [PurchaseFactory(organization=org, status="succeeded") for _ in range(3)]
    page = text(admin_client.get(reverse("credits:purchase_list")))
    for purchase in purchases:
        assert reverse("credits:receipt", args=[purchase.id]) in page


# --- auto-recharge and the monthly fee -------------------------------------------------------


def test_auto_recharge_cannot_be_turned_on_without_a_card(admin_client, org):
    response = admin_client.post(
        reverse("credits:auto_recharge"), {"enabled": "on", "threshold": "200", "pack": "1000"}
    )
    assert "Add a payment card first" in text(response)
    assert not CreditAccount.objects.filter(organization=org, auto_recharge_enabled=True).exists()


def test_an_admin_turns_auto_recharge_on(admin_client, org, stripe_backend):
    add_card(org)
    admin_client.post(
        reverse("credits:auto_recharge"), {"enabled": "on", "threshold": "200", "pack": "2500"}
    )
    account = CreditAccount.objects.get(organization=org)
    assert (account.auto_recharge_enabled, account.auto_recharge_threshold) == (True, 200)
    assert account.auto_recharge_pack == 2500


def test_auto_recharge_refuses_a_pack_that_does_not_exist(admin_client, org, stripe_backend):
    add_card(org)
    response = admin_client.post(
        reverse("credits:auto_recharge"), {"enabled": "on", "threshold": "200", "pack": "777"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in text(response)
    assert not CreditAccount.objects.get(organization=org).auto_recharge_enabled


def test_a_suspended_organization_sees_the_banner_and_paying_lifts_it(
    admin_client, staff_client, org, stripe_backend, eager_tasks, django_capture_on_commit_callbacks
):
    org.country = "AU"
    org.save()
    add_card(org, DECLINED_ON_CHARGE)
    with django_capture_on_commit_callbacks(execute=True):
        payments.monthly_fees_charge()
    staff_page = text(staff_client.get(reverse("credits:balance")))
    assert 'data-testid="suspension-banner"' in staff_page
    assert "Sending is paused." in staff_page
    assert "An admin can pay it" in staff_page
    assert "Pay US$10.00 now" in text(admin_client.get(reverse("credits:sms_voice_settings")))

    add_card(org)
    response = admin_client.post(reverse("credits:monthly_fee_pay"), follow=True)
    assert "Paid. The monthly fee is paid and sending is on again." in text(response)
    assert "suspension-banner" not in text(staff_client.get(reverse("credits:balance")))


# --- ledger, filters, CSV, API ---------------------------------------------------------------


@pytest.fixture
def some_history(org):
    fund(org, 100)
    credits_debit(organization=org, credits=30, reference="broadcast:1", memo="=SUM(A1)")
    credits_refund(organization=org, credits=2, reference="recipient:9", memo="failed")
    return org


def test_the_ledger_filters_by_kind(staff_client, some_history):
    response = staff_client.get(reverse("credits:balance"), {"kind": "refund"})
    entries = list(response.context["page"])
    assert [e.kind for e in entries] == [LedgerEntry.Kind.REFUND]


def test_the_ledger_filters_by_date(staff_client, org, some_history):
    # The days are the organization's: the page shows and filters its local dates.
    today = timezone.localdate(timezone=ZoneInfo(org.time_zone))
    yesterday = today - datetime.timedelta(days=1)
    in_range = staff_client.get(reverse("credits:balance"), {"date_from": today.isoformat()})
    too_early = staff_client.get(reverse("credits:balance"), {"date_to": yesterday.isoformat()})
    assert len(in_range.context["page"]) == 3
    assert len(too_early.context["page"]) == 0


def test_a_bad_date_filter_is_shown_and_ignored(staff_client, some_history):
    response = staff_client.get(reverse("credits:balance"), {"date_from": "soon"})
    assert response.status_code == 200
    assert "Enter a valid date." in text(response)
    assert len(response.context["page"]) == 3


def test_the_csv_export_has_the_filtered_entries_and_is_formula_safe(staff_client, some_history):
    response = staff_client.get(reverse("credits:ledger_csv"), {"kind": "debit"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["time (America/New_York)", "kind", "credits", "balance after"]
    assert [(r[1], r[2], r[3], r[7]) for r in rows[1:]] == [("debit", "-30", "70", "'=SUM(A1)")]


def test_the_api_gives_staff_the_balance(staff_client, some_history):
    data = staff_client.get("/api/v1/credits/balance/").json()
    assert data == {
        "balance": 72,
        "price_cents_per_credit": 3,
        "value_cents": 216,
        "sending_suspended": False,
        "sending_suspended_reason": "",
    }


def test_the_api_pages_the_ledger_newest_first(staff_client, some_history):
    data = staff_client.get("/api/v1/credits/ledger/").json()
    assert data["count"] == 3
    assert [e["kind"] for e in data["results"]] == ["refund", "debit", "adjustment"]
    assert staff_client.get("/api/v1/credits/ledger/", {"kind": "debit"}).json()["count"] == 1


def test_the_api_refuses_anonymous_callers(client):
    assert client.get("/api/v1/credits/balance/").status_code == 403
