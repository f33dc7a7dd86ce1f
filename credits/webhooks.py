"""Stripe's webhook: signature first (400 otherwise), then one idempotent handler per event
type. Events we don't handle, and objects we don't know, get 200 so Stripe stops retrying.

A signed event whose shape we cannot read (``data`` not an object, ``amount_refunded`` not a
whole number, a missing id…) is answered 400 with the reason, before anything is written:
Stripe then retries it, and shows it as failing in its dashboard, which is what we want, since
Stripe's own events always have these fields and a miss means we (or an API version change)
got something wrong that a fix should still be able to process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from credits import payments
from credits import stripe_gateway as gateway
from smsvoice.parsers import has_nul

logger = logging.getLogger(__name__)

HANDLERS = {
    "payment_intent.succeeded": lambda obj: payments.webhook_payment_succeeded(intent=obj),
    "payment_intent.payment_failed": lambda obj: payments.webhook_payment_failed(intent=obj),
    "charge.refunded": lambda obj: payments.webhook_charge_refunded(charge=obj),
}


class Malformed(ValueError):
    """The event's shape is not what its type promises; the message says which field."""


def _text(obj: dict, key: str, *, required: bool = False) -> None:
    value = obj.get(key)
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value):
        raise Malformed(f"{key} must be a string")


def _whole(obj: dict, key: str, *, required: bool = False) -> None:
    value = obj.get(key)
    if value is None and not required:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Malformed(f"{key} must be a whole number of cents")


def _object(obj: dict, key: str) -> None:
    if obj.get(key) is not None and not isinstance(obj[key], dict):
        raise Malformed(f"{key} must be an object")


def _reference(obj: dict, key: str) -> None:
    """A field Stripe sends as an id, or expanded into an object with an id."""
    value = obj.get(key)
    if isinstance(value, dict):
        _text(value, "id", required=True)
    elif value is not None and not isinstance(value, str):
        raise Malformed(f"{key} must be an id or an object with an id")


def _payment_intent(intent: dict) -> None:
    _text(intent, "id", required=True)
    _whole(intent, "amount")
    _object(intent, "metadata")
    _reference(intent, "customer")
    _reference(intent, "latest_charge")
    _object(intent, "last_payment_error")
    _text(intent.get("last_payment_error") or {}, "message")


def _charge(charge: dict) -> None:
    _reference(charge, "payment_intent")
    _whole(charge, "amount_refunded", required=True)


SHAPES: dict[str, Callable[[dict], None]] = {
    "payment_intent.succeeded": _payment_intent,
    "payment_intent.payment_failed": _payment_intent,
    "charge.refunded": _charge,
}


def event_object(event: dict) -> dict:
    """The event's ``data.object``, checked against what its type promises (Malformed if not)."""
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise Malformed("data.object must be an object")
    if has_nul(event):
        raise Malformed("strings may not contain NUL characters")
    obj = data["object"]
    SHAPES[event["type"]](obj)
    return obj


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        event = gateway.event_from_webhook(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except gateway.InvalidWebhook as error:
        logger.warning("refused a Stripe webhook: %s", error)
        return HttpResponseBadRequest("Invalid signature.", content_type="text/plain")
    except gateway.MalformedWebhook as error:
        return _malformed(str(error))
    kind = event.get("type")
    if not isinstance(kind, str):
        return _malformed("type must be a string", event)
    handler = HANDLERS.get(kind)
    if handler is None:
        return HttpResponse("ignored: not an event type we handle", content_type="text/plain")
    try:
        obj = event_object(event)
    except Malformed as error:
        return _malformed(str(error), event)
    changed = handler(obj)
    return HttpResponse("changed" if changed else "ok", content_type="text/plain")


def _malformed(reason: str, event: dict | None = None) -> HttpResponse:
    event_id = event.get("id") if event else None
    logger.warning("refused a malformed Stripe event %r: %s", event_id, reason)
    return HttpResponseBadRequest(f"Malformed event: {reason}.", content_type="text/plain")
