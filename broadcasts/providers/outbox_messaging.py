"""The embedded default's Messaging Services: local by construction, nothing leaves the app.

The same functions as broadcasts.providers.twilio_messaging, answering like Twilio (MG… and
AI… ids) so the services above run unchanged; the outbox sends from the number itself.
"""

from __future__ import annotations

import secrets

from broadcasts.providers.twilio_messaging import ServiceInfo


def service_create(*, friendly_name: str, inbound_url: str, status_callback: str) -> ServiceInfo:
    return ServiceInfo(
        sid="MG" + secrets.token_hex(16),
        friendly_name=friendly_name,
        inbound_request_url=inbound_url,
        status_callback=status_callback,
    )


def services_named(*, friendly_name: str, limit: int = 1000) -> list[ServiceInfo]:
    return []


def service_delete(*, sid: str) -> None:
    return None


def service_number_add(*, service_sid: str, number_sid: str) -> None:
    return None


def service_number_remove(*, service_sid: str, number_sid: str) -> None:
    return None


def alpha_sender_add(*, service_sid: str, alpha_sender: str) -> str:
    return "AI" + secrets.token_hex(16)


def alpha_sender_remove(*, service_sid: str, sid: str) -> None:
    return None
