"""Credits test helpers: accounts with a balance, and purchases in a given state."""

import factory

from credits.models import CreditAccount, LedgerEntry, Purchase
from credits.services import credits_adjust
from tests.factories import OrganizationFactory


def fund(organization, credits: int) -> LedgerEntry:
    """Give the organization credits through the ledger, as an operator adjustment."""
    return credits_adjust(organization=organization, credits=credits, memo="test funding")


class CreditAccountFactory(factory.django.DjangoModelFactory):
    """An account with a card on file (Stripe ids that only mean something to a stand-in)."""

    class Meta:
        model = CreditAccount
        django_get_or_create = ("organization",)

    organization = factory.SubFactory(OrganizationFactory)
    stripe_customer_id = factory.Sequence(lambda n: f"cus_test{n:06d}")
    card_payment_method_id = factory.Sequence(lambda n: f"pm_test{n:06d}")
    card_brand = "visa"
    card_last4 = "4242"
    card_exp_month = 12
    card_exp_year = 2034


class PurchaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Purchase

    organization = factory.SubFactory(OrganizationFactory)
    credits = 1000
    unit_price_cents = 3
    amount_cents = factory.LazyAttribute(lambda p: p.credits * p.unit_price_cents)
    card_brand = "visa"
    card_last4 = "4242"
