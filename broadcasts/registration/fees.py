"""What Twilio charges for US carrier registration, and what that is in credits.

Decision: registration fees are **paid in credits**, from the organization's prepaid balance
(one ledger debit when the admin submits, shown on the form before they press Submit), not
billed to the card separately. The card already buys credits (auto-recharge included), the
ledger already shows every charge with its reason, and a school sees one balance instead of
two kinds of bills. A request Twilio refuses at once is refunded; a review the carriers turn
down is not (Twilio charged for the vetting), and resubmitting after a fix costs nothing here.

Twilio's monthly campaign fee is shown too and paid the same way: debited in credits once per
calendar month while the campaign is approved (the scheduled refresh does it; a balance too low
is tried again on the next run, and the registration page says the fee is unpaid).

The amounts are Twilio's published US prices (twilio.com/en-us/sms/pricing/us, A2P 10DLC),
in US cents; change them here when Twilio does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from credits.pricing import credit_price_cents, format_usd
from smsvoice.models import Organization

BRAND_REGISTRATION_CENTS = 441  # every brand type, once
SECONDARY_VETTING_CENTS = 4180  # standard brands that do not skip secondary vetting, once
CAMPAIGN_VETTING_CENTS = 1500  # each campaign, once
CAMPAIGN_MONTHLY_CENTS = {"LOW_VOLUME": 150, "ACCOUNT_NOTIFICATION": 1000, "SOLE_PROPRIETOR": 200}
TOLLFREE_VERIFICATION_CENTS = 0  # Twilio verifies toll-free numbers for free


@dataclass(frozen=True, slots=True)
class Fee:
    label: str
    cents: int

    @property
    def usd(self) -> str:
        return format_usd(self.cents)


def tenlc_fees(*, brand_kind: str, use_case: str) -> list[Fee]:
    """One-time fees of a 10DLC registration (brand_kind: standard, low_volume, sole_proprietor)."""
    fees = [Fee("Brand registration", BRAND_REGISTRATION_CENTS)]
    if brand_kind == "standard":
        fees.append(Fee("Secondary vetting of a standard brand", SECONDARY_VETTING_CENTS))
    fees.append(Fee("Campaign vetting", CAMPAIGN_VETTING_CENTS))
    return fees


def monthly_fee(*, use_case: str) -> Fee:
    return Fee("Campaign, every month", CAMPAIGN_MONTHLY_CENTS.get(use_case, 1000))


def credits_for(*, organization: Organization, cents: int) -> int:
    """Cents in whole credits at the organization's credit price, rounded up."""
    price = credit_price_cents(organization=organization)
    return -(-cents // price)


def campaign_fee_reference(*, organization: Organization, period: date) -> str:
    """The ledger reference of one month's campaign fee (one debit per month)."""
    return f"registration-campaign-fee:{organization.pk}:{period:%Y-%m}"
