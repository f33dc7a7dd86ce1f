"""Money: each organization's credit account, its append-only ledger, and card payments.

The balance on ``CreditAccount`` is a cache of the ledger that is only ever changed by
``credits.services`` under a row lock, in the same transaction that writes the entry
explaining the change; ``manage.py credits_audit`` checks that the two agree.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.template.defaultfilters import pluralize
from django.utils import timezone

from families.models import AppendOnlyQuerySet
from smsvoice.models import Organization, OrgQuerySet


class CreditAccount(models.Model):
    """One per organization, created on first use. Also holds the card on file (Stripe ids,
    never card numbers), the auto-recharge settings and the sending suspension."""

    organization = models.OneToOneField(
        Organization, on_delete=models.PROTECT, related_name="credit_account"
    )
    balance = models.BigIntegerField(default=0)

    stripe_customer_id = models.CharField(max_length=64, blank=True)
    card_payment_method_id = models.CharField(max_length=64, blank=True)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    card_exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    card_exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    card_added_at = models.DateTimeField(null=True, blank=True)

    auto_recharge_enabled = models.BooleanField(default=False)
    auto_recharge_threshold = models.PositiveIntegerField(default=500)
    auto_recharge_pack = models.PositiveIntegerField(default=1000)
    # Failed auto-recharge purchases in a row; reaching the limit turns auto-recharge off.
    auto_recharge_failures = models.PositiveSmallIntegerField(default=0)

    # Set when Australia's monthly fee could not be charged; paying it clears both.
    sending_suspended_at = models.DateTimeField(null=True, blank=True)
    sending_suspended_reason = models.CharField(max_length=300, blank=True)

    updated_at = models.DateTimeField(auto_now=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="credit_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.organization}: {self.balance} credit{pluralize(self.balance)}"

    @property
    def has_card(self) -> bool:
        return bool(self.card_payment_method_id)


class Purchase(models.Model):
    """A card payment: a pack of credits, or Australia's monthly fee.

    ::

        pending ──► succeeded            (credits the ledger once; refunds are tracked after)
           │  └───► requires_action ──► succeeded | failed   (the bank asks for 3-D Secure)
           └──────► failed ──► succeeded (a late webhook: the money arrived after all)

    The row is written before Stripe is called, so its id is the idempotency key and the
    PaymentIntent's metadata lets a webhook find it even before the PaymentIntent id is saved.
    """

    class Kind(models.TextChoices):
        CREDITS = "credits", "Credits"
        MONTHLY_FEE = "monthly_fee", "Monthly fee"

    class Source(models.TextChoices):
        MANUAL = "manual", "Bought by an admin"
        AUTO_RECHARGE = "auto_recharge", "Auto-recharge"
        SCHEDULE = "schedule", "Monthly schedule"

    class Status(models.TextChoices):
        PENDING = "pending", "Processing"
        REQUIRES_ACTION = "requires_action", "Needs your bank's confirmation"
        SUCCEEDED = "succeeded", "Paid"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CREDITS)
    source = models.CharField(max_length=14, choices=Source.choices, default=Source.MANUAL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    credits = models.PositiveIntegerField(default=0)
    unit_price_cents = models.PositiveIntegerField(default=0)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    # Monthly fee: the first day of the calendar month it pays for.
    period = models.DateField(null=True, blank=True)

    stripe_payment_intent_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    stripe_charge_id = models.CharField(max_length=255, blank=True)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The buy form's one-time token: a double-submitted confirmation finds this purchase
    # instead of paying twice.
    client_token = models.CharField(max_length=64, blank=True)
    # Set while one caller is charging it (see credits.payments.purchase_charge).
    charging_since = models.DateTimeField(null=True, blank=True)

    refunded_cents = models.PositiveIntegerField(default=0)
    refunded_credits = models.PositiveIntegerField(default=0)
    # Credits Stripe refunded that had already been spent, so could not be taken back.
    refund_shortfall_credits = models.PositiveIntegerField(default=0)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_cents__gt=0), name="purchase_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(kind="monthly_fee", credits=0, period__isnull=False)
                | Q(kind="credits", credits__gt=0, period__isnull=True),
                name="purchase_kind_shape",
            ),
            models.UniqueConstraint(
                fields=["organization", "client_token"],
                condition=~Q(client_token=""),
                name="purchase_unique_client_token",
            ),
            # Concurrent debits under the threshold start one auto-recharge, never two.
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(source="auto_recharge", status="pending"),
                name="purchase_one_open_auto_recharge",
            ),
            # The monthly fee is charged once per month; a failed attempt may be retried.
            models.UniqueConstraint(
                fields=["organization", "period"],
                condition=Q(kind="monthly_fee") & ~Q(status="failed"),
                name="purchase_one_monthly_fee_per_period",
            ),
        ]

    def __str__(self) -> str:
        return f"Purchase {self.pk} ({self.get_kind_display()}, {self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.REQUIRES_ACTION)


class LedgerEntry(models.Model):
    """One change of an organization's credits. Never updated or deleted (a trigger refuses it
    on PostgreSQL); corrections are new entries of kind adjustment."""

    class Kind(models.TextChoices):
        PURCHASE = "purchase", "Purchase"
        DEBIT = "debit", "Debit"
        REFUND = "refund", "Refund"
        MONTHLY_FEE = "monthly_fee", "Monthly fee"
        ADJUSTMENT = "adjustment", "Adjustment"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    credits = models.BigIntegerField(help_text="Signed: positive adds credits, negative spends.")
    balance_after = models.BigIntegerField()
    # Money paid, for purchases and monthly fees (US cents).
    amount_cents = models.PositiveIntegerField(default=0)
    # What caused it: "broadcast:12", "recipient:88", "stripe:pi_…", "monthly-fee:2026-05"…
    reference = models.CharField(max_length=255)
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.PROTECT)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(max_length=150, blank=True)
    memo = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["organization", "-created_at"]),
            models.Index(fields=["organization", "kind", "-created_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="ledger_balance_after_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(kind="debit", credits__lt=0)
                | Q(kind__in=["purchase", "refund"], credits__gt=0)
                | Q(kind="monthly_fee", credits=0)
                | (Q(kind="adjustment") & ~Q(credits=0)),
                name="ledger_sign_matches_kind",
            ),
            # A refund, a Stripe payment or a monthly fee is written once per reference, so a
            # replayed failure or webhook changes nothing. Debits may share a reference.
            models.UniqueConstraint(
                fields=["organization", "kind", "reference"],
                condition=~Q(kind="debit"),
                name="ledger_unique_reference_except_debits",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.credits:+d} → {self.balance_after}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("LedgerEntry rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("LedgerEntry rows are append-only")
