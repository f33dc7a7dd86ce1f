"""Twilio Messaging Services (messaging.twilio.com/v1): the service, its sender pool, and
Australia's alphanumeric sender ID.

Requests go through the gateway's client (``twilio_client()``; the messaging host is redirected
by TWILIO_MESSAGING_API_BASE) and every failure comes back as ``ProviderError``. Removing
something that is already gone (404) counts as done, so a retry after a lost answer is safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from broadcasts.providers.twilio import ProviderError, provider_call, twilio_client


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    sid: str
    friendly_name: str
    inbound_request_url: str | None
    status_callback: str | None


def _service_info(service: Any) -> ServiceInfo:
    return ServiceInfo(
        sid=service.sid,
        friendly_name=service.friendly_name,
        inbound_request_url=service.inbound_request_url,
        status_callback=service.status_callback,
    )


def _services():
    return twilio_client().messaging.v1.services


def service_create(*, friendly_name: str, inbound_url: str, status_callback: str) -> ServiceInfo:
    """A service whose replies come to `inbound_url` and delivery reports to `status_callback`
    (both POST); sticky sender, so a family always hears from the same number."""
    service = provider_call(
        lambda: _services().create(
            friendly_name=friendly_name,
            inbound_request_url=inbound_url,
            inbound_method="POST",
            status_callback=status_callback,
            sticky_sender=True,
            use_inbound_webhook_on_number=False,
        )
    )
    return _service_info(service)


def services_named(*, friendly_name: str, limit: int = 1000) -> list[ServiceInfo]:
    """Services of the account with this friendly name (finds a create whose answer was lost)."""
    found = provider_call(lambda: _services().list(limit=limit, page_size=min(limit, 1000)))
    return [_service_info(s) for s in found if s.friendly_name == friendly_name]


def service_delete(*, sid: str) -> None:
    _gone_is_done(lambda: _services()(sid).delete())


def service_number_add(*, service_sid: str, number_sid: str) -> None:
    """Put an owned number (PN…) in the service's sender pool; already there counts as done."""
    try:
        provider_call(
            lambda: _services()(service_sid).phone_numbers.create(phone_number_sid=number_sid)
        )
    except ProviderError as error:
        if error.code != ALREADY_IN_SERVICE:
            raise


# Twilio: "Phone Number or Short Code is already in the Messaging Service".
ALREADY_IN_SERVICE = 21710


def service_number_remove(*, service_sid: str, number_sid: str) -> None:
    _gone_is_done(lambda: _services()(service_sid).phone_numbers(number_sid).delete())


def alpha_sender_add(*, service_sid: str, alpha_sender: str) -> str:
    """Add an alphanumeric sender ID to the service; returns its sid (AI…)."""
    sender = provider_call(
        lambda: _services()(service_sid).alpha_senders.create(alpha_sender=alpha_sender)
    )
    return sender.sid


def alpha_sender_remove(*, service_sid: str, sid: str) -> None:
    _gone_is_done(lambda: _services()(service_sid).alpha_senders(sid).delete())


def _gone_is_done(operation) -> None:
    try:
        provider_call(operation)
    except ProviderError as error:
        if error.status != 404:
            raise
