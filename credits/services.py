"""Writes to the credit ledger. The balance changes only here: each function locks the
organization's account row, writes the ledger entry and moves the balance in one transaction,
so concurrent callers queue on the lock and the entries always sum to the balance.

Card payments (cards on file, purchases, webhooks, the monthly fee) are in credits.payments.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from credits.models import CreditAccount, LedgerEntry, Purchase
from credits.pricing import credit_price_cents, credits_price_cents
from smsvoice.models import Organization

Kind = LedgerEntry.Kind


def task(name: str):
    """A task of credits.tasks by name. The tasks import the payment services, which import
    these, so both find their tasks in Celery's registry instead of importing the module
    (credits.apps imports it, so web processes have them registered too)."""
    from celery import current_app

    return current_app.tasks[f"credits.tasks.{name}"]


class InsufficientCredits(Exception):
    """The one error for "not enough credits": nothing was debited."""

    def __init__(self, *, needed: int, available: int) -> None:
        self.needed = needed
        self.available = available
        super().__init__(
            f"This needs {needed:,} credit{'s' if needed != 1 else ''} but only "
            f"{available:,} {'is' if available == 1 else 'are'} available."
        )


def _require_positive(credits: object) -> int:
    # bool is an int in Python; True credits is a bug, not one credit.
    if type(credits) is not int or credits <= 0:
        raise ValueError(f"credits must be a positive whole number, not {credits!r}")
    return credits


def account_for_update(*, organization: Organization) -> CreditAccount:
    """The organization's account, locked until the end of the caller's transaction; created on
    first use (two first uses at once both end up locking the same single row)."""
    account = CreditAccount.objects.select_for_update().filter(organization=organization).first()
    if account is None:
        CreditAccount.objects.get_or_create(organization=organization)
        account = CreditAccount.objects.select_for_update().get(organization=organization)
    return account


def _actor_label(actor) -> str:
    if actor is None:
        return ""
    member = getattr(actor, "staff_member", None)
    return member.full_name if member is not None else actor.get_username()


def ledger_write(
    *,
    account: CreditAccount,
    kind: str,
    credits: int,
    reference: str,
    actor=None,
    memo: str = "",
    purchase: Purchase | None = None,
    amount_cents: int = 0,
) -> LedgerEntry:
    """Move the balance of a locked account and record why. Callers hold the lock
    (``account_for_update``) inside ``transaction.atomic()``."""
    CreditAccount.objects.filter(pk=account.pk).update(balance=F("balance") + credits)
    account.balance += credits
    return LedgerEntry.objects.create(
        organization_id=account.organization_id,
        kind=kind,
        credits=credits,
        balance_after=account.balance,
        amount_cents=amount_cents,
        reference=reference,
        purchase=purchase,
        actor=actor,
        actor_label=_actor_label(actor),
        memo=memo[:500],
    )


def credits_debit(
    *, organization: Organization, credits: int, reference: str, actor=None, memo: str = ""
) -> LedgerEntry:
    """Spend ``credits`` for ``reference`` (e.g. "broadcast:12"), all or nothing. Works inside
    the caller's transaction, so a broadcast debits in the transaction creating its recipients.

    Raises InsufficientCredits, leaving nothing changed, when the balance is short."""
    _require_positive(credits)
    with transaction.atomic():
        account = account_for_update(organization=organization)
        if account.balance < credits:
            raise InsufficientCredits(needed=credits, available=account.balance)
        entry = ledger_write(
            account=account,
            kind=Kind.DEBIT,
            credits=-credits,
            reference=reference,
            actor=actor,
            memo=memo,
        )
        _auto_recharge_if_low(account)
    return entry


def credits_refund(
    *, organization: Organization, credits: int, reference: str, memo: str = ""
) -> LedgerEntry | None:
    """Give back ``credits`` once per ``reference`` (e.g. "recipient:88"). A second call with
    the same reference, even at the same moment from another worker, returns None."""
    _require_positive(credits)
    with transaction.atomic():
        account = account_for_update(organization=organization)
        # Under the account lock a concurrent refund of this reference has either committed
        # (and is seen here) or not started; the unique constraint is the backstop.
        if _has_entry(organization=organization, kind=Kind.REFUND, reference=reference):
            return None
        return ledger_write(
            account=account, kind=Kind.REFUND, credits=credits, reference=reference, memo=memo
        )


def credits_adjust(
    *,
    organization: Organization,
    credits: int,
    memo: str,
    actor=None,
    reference: str = "",
) -> LedgerEntry:
    """An operator's correction, positive or negative; never below zero."""
    if type(credits) is not int or credits == 0:
        raise ValueError(f"an adjustment must be a non-zero whole number, not {credits!r}")
    if not memo.strip():
        raise ValueError("an adjustment needs a memo saying why")
    with transaction.atomic():
        account = account_for_update(organization=organization)
        if account.balance + credits < 0:
            raise InsufficientCredits(needed=-credits, available=account.balance)
        return ledger_write(
            account=account,
            kind=Kind.ADJUSTMENT,
            credits=credits,
            reference=reference or f"adjustment:{uuid.uuid4()}",
            actor=actor,
            memo=memo,
        )


def _has_entry(*, organization: Organization, kind: str, reference: str) -> bool:
    return LedgerEntry.objects.for_org(organization).filter(kind=kind, reference=reference).exists()


# --- Auto-recharge ---------------------------------------------------------------------------


def _auto_recharge_if_low(account: CreditAccount) -> None:
    """Start one auto-recharge purchase when a debit leaves the balance under the threshold.

    Runs under the account lock, so of many concurrent debits only the first sees no open
    auto-recharge purchase; the partial unique constraint backs that up. The charge itself
    happens after commit, in a task, never under the lock."""
    if not (account.auto_recharge_enabled and account.has_card):
        return
    if account.balance >= account.auto_recharge_threshold:
        return
    organization = account.organization
    open_purchase = Purchase.objects.for_org(organization).filter(
        source=Purchase.Source.AUTO_RECHARGE, status=Purchase.Status.PENDING
    )
    if open_purchase.exists():
        return
    try:
        with transaction.atomic():
            purchase = Purchase.objects.create(
                organization=organization,
                source=Purchase.Source.AUTO_RECHARGE,
                credits=account.auto_recharge_pack,
                unit_price_cents=credit_price_cents(organization=organization),
                amount_cents=credits_price_cents(
                    organization=organization, credits=account.auto_recharge_pack
                ),
                card_brand=account.card_brand,
                card_last4=account.card_last4,
            )
    except IntegrityError:
        return
    transaction.on_commit(lambda: task("purchase_charge").delay(purchase.id))


def auto_recharge_update(
    *, organization: Organization, enabled: bool, threshold: int, pack: int
) -> CreditAccount:
    """Admins' settings. Turning it on again forgets earlier failures."""
    if pack not in settings.CREDIT_PACKS:
        raise ValueError(f"{pack:,} is not one of the packs")
    if type(threshold) is not int or threshold < 0:
        raise ValueError("the threshold must be zero or more credits")
    with transaction.atomic():
        account = account_for_update(organization=organization)
        if enabled and not account.auto_recharge_enabled:
            account.auto_recharge_failures = 0
        account.auto_recharge_enabled = enabled
        account.auto_recharge_threshold = threshold
        account.auto_recharge_pack = pack
        account.save(
            update_fields=[
                "auto_recharge_enabled",
                "auto_recharge_threshold",
                "auto_recharge_pack",
                "auto_recharge_failures",
                "updated_at",
            ]
        )
    return account
