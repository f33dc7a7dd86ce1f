"""Stripe's webhook: signature first (400 otherwise), then one idempotent handler per event
type. Events we don't handle, and objects we don't know, get 200 so Stripe stops retrying."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from credits import payments
from credits import stripe_gateway as gateway

logger = logging.getLogger(__name__)

HANDLERS = {
    "payment_intent.succeeded": lambda obj: payments.webhook_payment_succeeded(intent=obj),
    "payment_intent.payment_failed": lambda obj: payments.webhook_payment_failed(intent=obj),
    "charge.refunded": lambda obj: payments.webhook_charge_refunded(charge=obj),
}


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
    handler = HANDLERS.get(event.get("type", ""))
    obj = (event.get("data") or {}).get("object") or {}
    changed = handler(obj) if handler and isinstance(obj, dict) else False
    return HttpResponse("changed" if changed else "ok", content_type="text/plain")
