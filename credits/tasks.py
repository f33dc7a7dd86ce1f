"""Thin Celery tasks: each takes ids, loads nothing itself and calls one service."""

from __future__ import annotations

from celery import shared_task
from django.core.mail import send_mail

from credits import payments
from credits.stripe_gateway import PaymentUnavailable
from smsvoice.models import StaffMember


@shared_task(
    acks_late=True,
    autoretry_for=(PaymentUnavailable,),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=6,
)
def purchase_charge(purchase_id: int) -> str:
    """Charge an auto-recharge or monthly-fee purchase; Stripe being unreachable is retried
    with the same idempotency key, so it never charges twice."""
    return payments.purchase_charge(purchase_id=purchase_id).status


@shared_task
def monthly_fees_charge() -> dict[str, int]:
    """Beat: start this month's fee for each Australian organization that has none yet."""
    return payments.monthly_fees_charge()


@shared_task
def purchases_sweep() -> dict[str, int]:
    return payments.purchases_sweep()


@shared_task(acks_late=True)
def email_admins(*, organization_id: int, subject: str, body: str) -> int:
    admins = StaffMember.objects.filter(
        organization_id=organization_id, role=StaffMember.Role.ADMIN, is_active=True
    ).select_related("user")
    recipients = sorted({a.email or (a.user.email if a.user else "") for a in admins} - {""})
    if not recipients:
        return 0
    return send_mail(f"smsvoice: {subject}", body, None, recipients)
