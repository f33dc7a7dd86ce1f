"""Card payments: the card on file, purchases of credits, Australia's monthly fee, and what
Stripe's webhooks tell us.

Stripe is always called outside a database transaction, after a Purchase row has recorded the
intent (its id is the idempotency key and travels in the PaymentIntent's metadata). Whatever
answers first, the synchronous reply or the webhook, goes through ``purchase_mark_succeeded``,
which locks the purchase and credits the ledger only if it was not already paid.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import ngettext

from credits import stripe_gateway as gateway
from credits.models import CreditAccount, LedgerEntry, Purchase
from credits.pricing import (
    credit_price_cents,
    credits_price_cents,
    format_usd,
    monthly_fee_cents,
)
from credits.services import account_for_update, ledger_write, task
from smsvoice.locks import try_lock
from smsvoice.models import Organization

logger = logging.getLogger(__name__)
Status = Purchase.Status


class NoCardOnFile(Exception):
    def __init__(self) -> None:
        super().__init__("Add a payment card first: there is no card on file to charge.")


def validate_quantity(credits: object) -> int:
    """A pack, or a custom number of credits within the limits; ValueError says what is
    allowed."""
    low, high = settings.CREDIT_CUSTOM_MIN, settings.CREDIT_CUSTOM_MAX
    if type(credits) is not int or not (low <= credits <= high or credits in settings.CREDIT_PACKS):
        raise ValueError(f"Choose a pack, or a whole number of credits from {low:,} to {high:,}.")
    return credits


# --- Card on file -----------------------------------------------------------------------------


def _account(organization: Organization) -> CreditAccount:
    account, _ = CreditAccount.objects.get_or_create(organization=organization)
    return account


def customer_ensure(*, organization: Organization) -> str:
    """The organization's Stripe customer id, created at Stripe the first time."""
    account = _account(organization)
    if account.stripe_customer_id:
        return account.stripe_customer_id
    customer_id = gateway.customer_create(
        organization_id=organization.id, name=organization.name, email=organization.contact_email
    )
    CreditAccount.objects.filter(pk=account.pk, stripe_customer_id="").update(
        stripe_customer_id=customer_id
    )
    account.refresh_from_db(fields=["stripe_customer_id"])
    return account.stripe_customer_id


def card_setup_start(*, organization: Organization) -> tuple[str, str]:
    """Stripe Elements: a SetupIntent whose client secret the browser confirms the card with."""
    return gateway.setup_intent_create(customer_id=customer_ensure(organization=organization))


def card_save_test_card(
    *, organization: Organization, number: str, exp_month: int, exp_year: int, cvc: str
) -> CreditAccount:
    """Test mode: the card typed into our own form is confirmed on a SetupIntent, then saved
    exactly like a card from Elements."""
    setup_intent_id, _ = card_setup_start(organization=organization)
    gateway.setup_intent_confirm_test_card(
        setup_intent_id=setup_intent_id,
        number=number,
        exp_month=exp_month,
        exp_year=exp_year,
        cvc=cvc,
    )
    return card_save(organization=organization, setup_intent_id=setup_intent_id)


def card_save(*, organization: Organization, setup_intent_id: str) -> CreditAccount:
    """Keep the card a succeeded SetupIntent saved; the card it replaces is detached."""
    customer_id = customer_ensure(organization=organization)
    card = gateway.card_from_setup_intent(setup_intent_id=setup_intent_id, customer_id=customer_id)
    with transaction.atomic():
        account = account_for_update(organization=organization)
        replaced = account.card_payment_method_id
        account.card_payment_method_id = card.payment_method_id
        account.card_brand = card.brand
        account.card_last4 = card.last4
        account.card_exp_month = card.exp_month
        account.card_exp_year = card.exp_year
        account.card_added_at = timezone.now()
        account.save()
    if replaced and replaced != card.payment_method_id:
        gateway.payment_method_detach(payment_method_id=replaced)
    return account


def card_remove(*, organization: Organization) -> None:
    with transaction.atomic():
        account = account_for_update(organization=organization)
        removed = account.card_payment_method_id
        account.card_payment_method_id = ""
        account.card_brand = account.card_last4 = ""
        account.card_exp_month = account.card_exp_year = None
        account.card_added_at = None
        account.save()
    if removed:
        gateway.payment_method_detach(payment_method_id=removed)


# --- Purchases --------------------------------------------------------------------------------


def purchase_create(
    *, organization: Organization, credits: int, actor=None, client_token: str = ""
) -> Purchase:
    """Record the intent to buy ``credits`` (to be charged by ``purchase_charge``). The same
    ``client_token`` (the buy form's, submitted twice) gives back the same purchase."""
    validate_quantity(credits)
    account = _account(organization)
    if not account.has_card:
        raise NoCardOnFile()
    if client_token:
        existing = Purchase.objects.for_org(organization).filter(client_token=client_token)
        if existing.exists():
            return existing.get()
    try:
        with transaction.atomic():
            return Purchase.objects.create(
                organization=organization,
                credits=credits,
                unit_price_cents=credit_price_cents(organization=organization),
                amount_cents=credits_price_cents(organization=organization, credits=credits),
                card_brand=account.card_brand,
                card_last4=account.card_last4,
                created_by=actor,
                client_token=client_token,
            )
    except IntegrityError:
        if not client_token:
            raise
        return Purchase.objects.for_org(organization).get(client_token=client_token)


def purchase_charge(*, purchase_id: int) -> Purchase:
    """Charge a pending purchase to the card on file, off-session, and apply the answer.

    Only one caller charges a purchase at a time (a conditional update claims it), and the
    idempotency key is the purchase's, so a retry after a lost answer never charges twice.
    Raises PaymentUnavailable (retryable) when Stripe could not be reached."""
    purchase = Purchase.objects.select_related("organization").get(id=purchase_id)
    if not _claim(purchase):
        return _reload(purchase)
    account = _account(purchase.organization)
    if not account.has_card:
        purchase_mark_failed(purchase_id=purchase.id, message=str(NoCardOnFile()))
        return _reload(purchase)
    try:
        payment = gateway.payment_create(
            customer_id=account.stripe_customer_id,
            payment_method_id=account.card_payment_method_id,
            amount_cents=purchase.amount_cents,
            idempotency_key=f"purchase-{purchase.id}",
            metadata={
                "purchase_id": str(purchase.id),
                "organization_id": str(purchase.organization_id),
                "kind": purchase.kind,
            },
        )
    except gateway.PaymentUnavailable:
        raise
    except gateway.PaymentError as error:
        purchase_mark_failed(
            purchase_id=purchase.id,
            message=error.message,
            payment_intent_id=error.payment_intent_id,
        )
    else:
        payment_apply(purchase_id=purchase.id, payment=payment)
    finally:
        _release(purchase)
    return _reload(purchase)


# A claim older than this is from a worker that died mid-charge; charging again is safe because
# the idempotency key makes Stripe answer with the same PaymentIntent.
CLAIM_EXPIRES = datetime.timedelta(minutes=10)


def _claim(purchase: Purchase) -> bool:
    """Only the caller whose conditional update wins charges now; a double click or a task
    delivered twice sees the purchase as in progress and does nothing."""
    now = timezone.now()
    unclaimed = Q(charging_since=None) | Q(charging_since__lt=now - CLAIM_EXPIRES)
    claimable = Purchase.objects.filter(
        unclaimed, id=purchase.id, status=Status.PENDING, stripe_payment_intent_id__isnull=True
    )
    return bool(claimable.update(charging_since=now, attempts=F("attempts") + 1))


def _release(purchase: Purchase) -> None:
    Purchase.objects.filter(id=purchase.id).update(charging_since=None)


def _reload(purchase: Purchase) -> Purchase:
    return Purchase.objects.select_related("organization").get(id=purchase.id)


def payment_apply(*, purchase_id: int, payment: gateway.Payment) -> None:
    """Move a purchase to match what Stripe says its PaymentIntent is."""
    if payment.status == "succeeded":
        purchase_mark_succeeded(
            purchase_id=purchase_id, payment_intent_id=payment.id, charge_id=payment.charge_id
        )
    elif payment.status == "requires_action":
        purchase_mark_requires_action(purchase_id=purchase_id, payment_intent_id=payment.id)
    elif payment.status in ("requires_payment_method", "canceled"):
        purchase_mark_failed(
            purchase_id=purchase_id,
            message=payment.error_message or "The payment was not completed.",
            payment_intent_id=payment.id,
        )
    else:  # processing: the webhook will tell us
        Purchase.objects.filter(id=purchase_id, stripe_payment_intent_id__isnull=True).update(
            stripe_payment_intent_id=payment.id
        )


def purchase_refresh(*, purchase: Purchase) -> Purchase:
    """Ask Stripe again (after a 3-D Secure confirmation, or when a webhook is late)."""
    if purchase.stripe_payment_intent_id:
        payment = gateway.payment_retrieve(payment_intent_id=purchase.stripe_payment_intent_id)
        payment_apply(purchase_id=purchase.id, payment=payment)
    return _reload(purchase)


def purchase_mark_succeeded(
    *, purchase_id: int, payment_intent_id: str, charge_id: str = ""
) -> bool:
    """Paid: credit the ledger (or record the monthly fee) exactly once. True if this call did
    it, False if the purchase was already paid (a replayed webhook, the other of sync/webhook).
    """
    with transaction.atomic():
        purchase = Purchase.objects.select_for_update().get(id=purchase_id)
        if purchase.status == Status.SUCCEEDED:
            return False
        if not _may_succeed(purchase):
            return False
        account = account_for_update(organization=purchase.organization)
        purchase.status = Status.SUCCEEDED
        purchase.stripe_payment_intent_id = payment_intent_id
        purchase.stripe_charge_id = charge_id or purchase.stripe_charge_id
        purchase.failure_message = ""
        purchase.completed_at = timezone.now()
        purchase.save()
        if purchase.kind == Purchase.Kind.CREDITS:
            _credit_purchase(account, purchase)
        else:
            _record_monthly_fee(account, purchase)
    return True


def _may_succeed(purchase: Purchase) -> bool:
    """A failed monthly fee paid late, when a retry for the same month was paid too, would be
    the month paid twice; it is left for an operator to refund rather than recorded twice."""
    if purchase.kind != Purchase.Kind.MONTHLY_FEE or purchase.status != Status.FAILED:
        return True
    others = Purchase.objects.filter(
        organization_id=purchase.organization_id,
        kind=Purchase.Kind.MONTHLY_FEE,
        period=purchase.period,
    ).exclude(id=purchase.id)
    if others.exclude(status=Status.FAILED).exists():
        logger.error("monthly fee purchase %s was paid after another payment", purchase.id)
        return False
    return True


def _credit_purchase(account: CreditAccount, purchase: Purchase) -> None:
    ledger_write(
        account=account,
        kind=LedgerEntry.Kind.PURCHASE,
        credits=purchase.credits,
        # One PaymentIntent credits once: the ledger's unique reference enforces it too.
        reference=f"stripe:{purchase.stripe_payment_intent_id}",
        purchase=purchase,
        amount_cents=purchase.amount_cents,
        actor=purchase.created_by,
        memo=f"{purchase.credits:,} credits for {format_usd(purchase.amount_cents)}"
        + (" (auto-recharge)" if purchase.source == Purchase.Source.AUTO_RECHARGE else ""),
    )
    if purchase.source == Purchase.Source.AUTO_RECHARGE and account.auto_recharge_failures:
        account.auto_recharge_failures = 0
        account.save(update_fields=["auto_recharge_failures", "updated_at"])


def _record_monthly_fee(account: CreditAccount, purchase: Purchase) -> None:
    ledger_write(
        account=account,
        kind=LedgerEntry.Kind.MONTHLY_FEE,
        credits=0,
        reference=f"monthly-fee:{purchase.period:%Y-%m}",
        purchase=purchase,
        amount_cents=purchase.amount_cents,
        actor=purchase.created_by,
        memo=f"Monthly fee for {purchase.period:%B %Y}, {format_usd(purchase.amount_cents)}",
    )
    if account.sending_suspended_at is not None:
        account.sending_suspended_at = None
        account.sending_suspended_reason = ""
        account.save(
            update_fields=["sending_suspended_at", "sending_suspended_reason", "updated_at"]
        )


def purchase_mark_requires_action(*, purchase_id: int, payment_intent_id: str) -> None:
    """The bank wants the cardholder to confirm (3-D Secure). Nobody is there for an
    auto-recharge or the monthly fee, so for those it also counts as not paid."""
    with transaction.atomic():
        purchase = Purchase.objects.select_for_update().get(id=purchase_id)
        if purchase.status != Status.PENDING:
            return
        purchase.status = Status.REQUIRES_ACTION
        purchase.stripe_payment_intent_id = payment_intent_id
        purchase.failure_message = "Your card's bank asks you to confirm this payment."
        purchase.save()
        if purchase.source != Purchase.Source.MANUAL:
            _unpaid(purchase)


def purchase_mark_failed(*, purchase_id: int, message: str, payment_intent_id: str = "") -> bool:
    """Declined or otherwise not paid: no credits. Counts towards turning auto-recharge off;
    an unpaid monthly fee suspends sending. A second failure report changes nothing."""
    with transaction.atomic():
        purchase = Purchase.objects.select_for_update().get(id=purchase_id)
        if purchase.status in (Status.SUCCEEDED, Status.FAILED):
            return False
        was_unpaid_already = purchase.status == Status.REQUIRES_ACTION
        purchase.status = Status.FAILED
        purchase.failure_message = (message or "The payment failed.")[:500]
        if payment_intent_id and not purchase.stripe_payment_intent_id:
            purchase.stripe_payment_intent_id = payment_intent_id
        purchase.completed_at = timezone.now()
        purchase.save()
        if purchase.source != Purchase.Source.MANUAL and not was_unpaid_already:
            _unpaid(purchase)
    return True


def _unpaid(purchase: Purchase) -> None:
    """Consequences of an auto-recharge or monthly fee that was not paid; caller holds the
    purchase lock."""
    account = account_for_update(organization=purchase.organization)
    reason = purchase.failure_message
    if purchase.source == Purchase.Source.AUTO_RECHARGE:
        account.auto_recharge_failures += 1
        turned_off = account.auto_recharge_failures >= settings.AUTO_RECHARGE_MAX_FAILURES
        if turned_off:
            account.auto_recharge_enabled = False
        account.save(
            update_fields=["auto_recharge_failures", "auto_recharge_enabled", "updated_at"]
        )
        subject = "Auto-recharge failed" + (" and is now off" if turned_off else "")
        body = (
            f"We could not buy {purchase.credits:,} credits "
            f"({format_usd(purchase.amount_cents)}) for {purchase.organization} automatically: "
            f"{reason}\n\n"
            + (
                f"After {account.auto_recharge_failures} failures in a row, auto-recharge is "
                "now turned off. "
                if turned_off
                else ""
            )
            + "Check the card on file under Settings > SMS & Voice > Billing."
        )
    else:
        account.sending_suspended_at = account.sending_suspended_at or timezone.now()
        account.sending_suspended_reason = (
            f"The monthly fee for {purchase.period:%B %Y} ({format_usd(purchase.amount_cents)}) "
            "could not be charged. Sending is paused until it is paid."
        )
        account.save(
            update_fields=["sending_suspended_at", "sending_suspended_reason", "updated_at"]
        )
        subject = "Your monthly fee could not be charged: sending is paused"
        body = (
            f"{account.sending_suspended_reason}\n\nThe card said: {reason}\n\n"
            "Pay it under Settings > SMS & Voice > Billing; sending resumes as soon as it is paid."
        )
    organization_id = purchase.organization_id
    transaction.on_commit(
        lambda: task("email_admins").delay(
            organization_id=organization_id, subject=subject, body=body
        )
    )


# --- Australia's monthly fee ------------------------------------------------------------------


def monthly_fees_charge(*, today: datetime.date | None = None) -> dict[str, int]:
    """The beat job: start this month's fee for every Australian organization that has none
    yet (any status: a failed fee is paid by an admin, not retried every day). Runs under a
    non-blocking lock; returns counts."""
    today = today or timezone.localdate()
    period = today.replace(day=1)
    counts = {"organizations": 0, "started": 0, "already": 0, "locked": 0}
    with try_lock("credits:monthly-fees") as acquired:
        if not acquired:
            counts["locked"] = 1
            return counts
        for organization in Organization.objects.filter(country=Organization.Country.AU):
            counts["organizations"] += 1
            purchase = monthly_fee_start(organization=organization, period=period)
            if purchase is None:
                counts["already"] += 1
                continue
            counts["started"] += 1
            transaction.on_commit(lambda pk=purchase.id: task("purchase_charge").delay(pk))
    return counts


def purchases_sweep() -> dict[str, int]:
    """Beat: purchases nobody is finishing. An auto-recharge or monthly fee whose task was lost
    is enqueued again (same idempotency key); one Stripe left "processing" is asked again."""
    counts = {"enqueued": 0, "refreshed": 0, "locked": 0}
    stale = timezone.now() - CLAIM_EXPIRES
    with try_lock("credits:purchases-sweep") as acquired:
        if not acquired:
            counts["locked"] = 1
            return counts
        pending = Purchase.objects.filter(status=Status.PENDING, created_at__lt=stale)
        unclaimed = Q(charging_since=None) | Q(charging_since__lt=stale)
        lost = pending.filter(unclaimed, stripe_payment_intent_id__isnull=True).exclude(
            source=Purchase.Source.MANUAL
        )
        for purchase_id in lost.values_list("id", flat=True)[:500]:
            task("purchase_charge").delay(purchase_id)
            counts["enqueued"] += 1
        processing = pending.filter(stripe_payment_intent_id__isnull=False)
        for purchase in processing[:100]:
            try:
                purchase_refresh(purchase=purchase)
                counts["refreshed"] += 1
            except gateway.PaymentError as error:
                logger.warning("could not refresh purchase %s: %s", purchase.id, error)
    return counts


def monthly_fee_start(
    *, organization: Organization, period: datetime.date, actor=None, retry: bool = False
) -> Purchase | None:
    """Create this month's fee purchase and enqueue its charge, once per organization and
    month (``retry`` allows a new attempt after failed ones). None if there is nothing to do."""
    amount = monthly_fee_cents(organization=organization)
    if amount <= 0:
        return None
    fees = Purchase.objects.for_org(organization).filter(
        kind=Purchase.Kind.MONTHLY_FEE, period=period
    )
    if fees.exclude(status=Status.FAILED).exists() or (fees.exists() and not retry):
        return None
    account = _account(organization)
    try:
        with transaction.atomic():
            purchase = Purchase.objects.create(
                organization=organization,
                kind=Purchase.Kind.MONTHLY_FEE,
                source=Purchase.Source.MANUAL if actor else Purchase.Source.SCHEDULE,
                period=period,
                amount_cents=amount,
                card_brand=account.card_brand,
                card_last4=account.card_last4,
                created_by=actor,
            )
    except IntegrityError:  # another beat or admin started it a moment ago
        return None
    return purchase


def monthly_fee_pay_now(*, organization: Organization, actor=None) -> Purchase | None:
    """An admin pays the fee that suspended sending: a new attempt for that month, charged now."""
    from credits.selectors import open_monthly_fee

    unpaid = open_monthly_fee(organization=organization)
    if unpaid is None or unpaid.status != Status.FAILED:
        return unpaid
    if not _account(organization).has_card:
        raise NoCardOnFile()
    purchase = monthly_fee_start(
        organization=organization, period=unpaid.period, actor=actor, retry=True
    )
    if purchase is None:
        return open_monthly_fee(organization=organization)
    return purchase_charge(purchase_id=purchase.id)


# --- Stripe webhooks --------------------------------------------------------------------------


def _purchase_for_intent(intent: dict) -> Purchase | None:
    """Our purchase for a PaymentIntent: by its id, or, when the webhook beats the synchronous
    answer, by the purchase id we put in its metadata (checked against the customer)."""
    found = Purchase.objects.filter(stripe_payment_intent_id=intent.get("id")).first()
    if found is not None:
        return found
    purchase_id = str((intent.get("metadata") or {}).get("purchase_id", ""))
    if not purchase_id.isdigit():
        return None
    purchase = Purchase.objects.filter(id=int(purchase_id)).first()
    if purchase is None or purchase.stripe_payment_intent_id:
        return None
    account = _account(purchase.organization)
    if account.stripe_customer_id != gateway.id_of(intent.get("customer")):
        logger.warning(
            "payment intent %s does not match purchase %s", intent.get("id"), purchase_id
        )
        return None
    if intent.get("amount") != purchase.amount_cents:
        return None
    return purchase


def webhook_payment_succeeded(*, intent: dict) -> bool:
    purchase = _purchase_for_intent(intent)
    if purchase is None:
        return False
    return purchase_mark_succeeded(
        purchase_id=purchase.id,
        payment_intent_id=intent["id"],
        charge_id=gateway.id_of(intent.get("latest_charge")),
    )


def webhook_payment_failed(*, intent: dict) -> bool:
    purchase = _purchase_for_intent(intent)
    if purchase is None:
        return False
    error = intent.get("last_payment_error") or {}
    return purchase_mark_failed(
        purchase_id=purchase.id,
        message=error.get("message") or "The payment failed.",
        payment_intent_id=intent["id"],
    )


def webhook_charge_refunded(*, charge: dict) -> bool:
    """Stripe refunded (part of) a purchase: take the refunded credits back if they are still
    there; what was already spent is recorded as a shortfall and the admins are told."""
    intent_id = gateway.id_of(charge.get("payment_intent"))
    purchase = Purchase.objects.filter(stripe_payment_intent_id=intent_id).first()
    if purchase is None or not intent_id:
        return False
    refunded_cents = int(charge.get("amount_refunded") or 0)
    with transaction.atomic():
        purchase = Purchase.objects.select_for_update().get(id=purchase.id)
        if refunded_cents <= purchase.refunded_cents or purchase.status != Status.SUCCEEDED:
            return False
        purchase.refunded_cents = min(refunded_cents, purchase.amount_cents)
        shortfall = _take_back_refunded_credits(purchase, intent_id)
        purchase.save()
    if shortfall:
        _tell_admins_about_shortfall(purchase, shortfall)
    return True


def _take_back_refunded_credits(purchase: Purchase, intent_id: str) -> int:
    """Debit the credits the refund pays back, as far as the balance allows; returns the
    credits that could not be taken back."""
    if purchase.kind != Purchase.Kind.CREDITS:
        return 0
    refunded_credits = purchase.credits * purchase.refunded_cents // purchase.amount_cents
    owed = refunded_credits - purchase.refunded_credits - purchase.refund_shortfall_credits
    if owed <= 0:
        return 0
    account = account_for_update(organization=purchase.organization)
    taken = min(owed, account.balance)
    if taken:
        ledger_write(
            account=account,
            kind=LedgerEntry.Kind.ADJUSTMENT,
            credits=-taken,
            reference=f"stripe-refund:{intent_id}:{purchase.refunded_cents}",
            purchase=purchase,
            memo=f"Card refund of purchase #{purchase.id}: "
            f"{format_usd(purchase.refunded_cents)} refunded in total",
        )
    purchase.refunded_credits += taken
    purchase.refund_shortfall_credits += owed - taken
    return owed - taken


def _tell_admins_about_shortfall(purchase: Purchase, shortfall: int) -> None:
    spent = ngettext(
        "%(n)s of its credits had already been spent, so it could not be taken back.",
        "%(n)s of its credits had already been spent, so they could not be taken back.",
        shortfall,
    ) % {"n": f"{shortfall:,}"}
    body = (
        f"Purchase #{purchase.id} was refunded to the card, but {spent} Please review it "
        "under Settings > SMS & Voice > Billing."
    )
    organization_id = purchase.organization_id
    transaction.on_commit(
        lambda: task("email_admins").delay(
            organization_id=organization_id,
            subject="A refunded purchase was already spent",
            body=body,
        )
    )
