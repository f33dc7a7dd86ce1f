"""The organization's sending number: search, buy (with our webhooks), replace and release."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from broadcasts.messaging_services import messaging_service_ensure, number_released
from broadcasts.models import (
    Recipient,
    SendingNumber,
)
from broadcasts.providers import sms_provider
from broadcasts.recipients import BroadcastRefused
from broadcasts.selectors import (
    sending_number_active,
)
from smsvoice.models import Organization

logger = logging.getLogger(__name__)
Status = Recipient.Status


# --- the sending number ---


def _webhook_urls() -> dict[str, str]:
    return {
        "sms_url": settings.SITE_URL + reverse("broadcasts:twilio_sms"),
        "voice_url": settings.SITE_URL + reverse("broadcasts:twilio_voice"),
        "status_callback": settings.SITE_URL + reverse("broadcasts:twilio_status"),
    }


def sending_numbers_search(*, organization: Organization, area_code: str) -> list:
    area_code = area_code.strip()
    if area_code and (not area_code.isdigit() or len(area_code) != 3):
        raise BroadcastRefused("An area code is three digits, like 415.")
    from broadcasts.providers.twilio import ProviderError

    try:
        return sms_provider().numbers_search(
            country=organization.country, area_code=area_code or None
        )
    except ProviderError as error:
        raise BroadcastRefused(f"Twilio could not search numbers: {error.message}") from None


def sending_number_buy(*, organization: Organization, phone_number: str) -> SendingNumber:
    """Buy a number with its webhooks pointed at us; it replaces the current one, if any,
    which is released only once the new one is ours (no moment without a number)."""
    from broadcasts.providers.twilio import ProviderError
    from credits.selectors import credit_account
    from families.phones import phone_parse

    account = credit_account(organization=organization)
    if account is None or not account.has_card:
        raise BroadcastRefused("Put a payment card on file first (Settings > SMS & Voice).")
    try:
        e164 = phone_parse(phone_number, country=organization.country)
    except Exception:
        raise BroadcastRefused(
            f"{phone_number} is not a number this organization can use."
        ) from None
    provider = sms_provider()
    try:
        bought = provider.number_buy(phone_number=e164, **_webhook_urls())
    except ProviderError as error:
        raise BroadcastRefused(f"Twilio could not sell that number: {error.message}") from None
    old = sending_number_active(organization=organization)
    with transaction.atomic():
        if old is not None:
            # Released here at once; at Twilio only once the new number is in the pool.
            SendingNumber.objects.filter(pk=old.pk).update(
                status=SendingNumber.Status.RELEASED,
                released_at=timezone.now(),
                provider_cleanup=True,
            )
        number = SendingNumber.objects.create(
            organization=organization, e164=bought.phone_number, provider_sid=bought.sid
        )
    # The Messaging Service takes the new number into its pool, then lets the old one go; a
    # failure is kept on the service (and the old number's provider_cleanup) for the sweep.
    messaging_service_ensure(organization=organization)
    number.refresh_from_db()
    return number


def sending_number_release(*, organization: Organization) -> SendingNumber | None:
    number = sending_number_active(organization=organization)
    if number is None:
        return None
    SendingNumber.objects.filter(pk=number.pk).update(
        status=SendingNumber.Status.RELEASED, released_at=timezone.now(), provider_cleanup=True
    )
    # Out of the Messaging Service's pool, then back to Twilio; what fails is left for the sweep.
    number_released(organization=organization, number=number)
    return number


