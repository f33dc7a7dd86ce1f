"""Which SMS provider this process talks to: Twilio, or the outbox of the embedded default.

Both modules offer the same functions (sms_send, messages_list, ...) and raise the same
ProviderError, so the services never know which one they have.
"""

from __future__ import annotations

from types import ModuleType

from django.conf import settings


def sms_provider() -> ModuleType:
    if settings.SMS_BACKEND == "outbox":
        from broadcasts.providers import outbox

        return outbox
    from broadcasts.providers import twilio as twilio_gateway

    return twilio_gateway


def messaging_provider() -> ModuleType:
    """Messaging Services: Twilio's, or the outbox's local ones (no call leaves the app)."""
    if settings.SMS_BACKEND == "outbox":
        from broadcasts.providers import outbox_messaging

        return outbox_messaging
    from broadcasts.providers import twilio_messaging

    return twilio_messaging
