"""Prices in whole US cents and credits in whole numbers, from settings; no floats anywhere."""

from __future__ import annotations

from django.conf import settings

from smsvoice.models import Organization


def credit_price_cents(*, organization: Organization) -> int:
    return settings.CREDIT_PRICE_CENTS[organization.country]


def credits_price_cents(*, organization: Organization, credits: int) -> int:
    return credits * credit_price_cents(organization=organization)


def monthly_fee_cents(*, organization: Organization) -> int:
    """Only Australian organizations pay a monthly fee."""
    if organization.country == Organization.Country.AU:
        return settings.AU_MONTHLY_FEE_CENTS
    return 0


def packs() -> tuple[int, ...]:
    return tuple(settings.CREDIT_PACKS)


def format_usd(cents: int) -> str:
    """``1234`` → ``"US$12.34"``; cents as a whole number, so nothing is lost to rounding."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}US${whole:,}.{part:02d}"
