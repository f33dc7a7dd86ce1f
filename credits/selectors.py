"""Reads of credits, ledger and purchases, always for one organization."""

from __future__ import annotations

import datetime

from django.db.models import QuerySet

from credits.models import CreditAccount, LedgerEntry, Purchase
from smsvoice.models import Organization


def credit_account(*, organization: Organization) -> CreditAccount | None:
    return CreditAccount.objects.for_org(organization).first()


def credits_balance(*, organization: Organization) -> int:
    balance = CreditAccount.objects.for_org(organization).values_list("balance", flat=True)
    return balance.first() or 0


def sending_suspended(*, organization: Organization) -> bool:
    return bool(sending_suspended_reason(organization=organization))


def sending_suspended_reason(*, organization: Organization) -> str:
    """Why sending is suspended for the organization, or "" when it is not."""
    account = CreditAccount.objects.for_org(organization).only(
        "sending_suspended_at", "sending_suspended_reason"
    )
    account = account.first()
    if account is None or account.sending_suspended_at is None:
        return ""
    return account.sending_suspended_reason or "Sending is suspended until a payment is made."


def ledger_entries(
    *,
    organization: Organization,
    kind: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[LedgerEntry]:
    """Newest first. Dates are inclusive days in the server's time zone."""
    entries = LedgerEntry.objects.for_org(organization).select_related("purchase")
    if kind:
        entries = entries.filter(kind=kind)
    if date_from:
        entries = entries.filter(created_at__date__gte=date_from)
    if date_to:
        entries = entries.filter(created_at__date__lte=date_to)
    return entries.order_by("-created_at", "-id")


def purchases(*, organization: Organization) -> QuerySet[Purchase]:
    return Purchase.objects.for_org(organization).select_related("created_by")


def open_monthly_fee(*, organization: Organization) -> Purchase | None:
    """The latest unpaid monthly fee while sending is suspended for it (what "Pay now" pays)."""
    fees = Purchase.objects.for_org(organization).filter(kind=Purchase.Kind.MONTHLY_FEE)
    latest = fees.order_by("-period", "-created_at").first()
    if latest is None or latest.status == Purchase.Status.SUCCEEDED:
        return None
    return latest
