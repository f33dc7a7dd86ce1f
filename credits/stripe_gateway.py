"""Stripe, behind one module: the only place that imports ``stripe``.

It speaks to ``settings.STRIPE_API_BASE`` with ``settings.STRIPE_SECRET_KEY``, so tests and the
demo point it at localstripe (a local server that speaks Stripe's REST API) and run the same
code as production. Provider errors come out as our own exceptions: ``CardDeclined`` carries
the card's message for the admin; ``PaymentUnavailable`` is worth retrying (network, 5xx, 429)
with the same idempotency key; anything else is a permanent ``PaymentError``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import stripe
from django.conf import settings

from smsvoice.parsers import json_depth

logger = logging.getLogger(__name__)

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class PaymentError(Exception):
    retryable = False

    def __init__(self, message: str, *, code: str = "", payment_intent_id: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.payment_intent_id = payment_intent_id


class CardDeclined(PaymentError):
    """The card (or its bank) said no; ``message`` is the card's own wording."""


class PaymentUnavailable(PaymentError):
    retryable = True


class InvalidWebhook(Exception):
    """The payload is not signed with our webhook secret."""


class MalformedWebhook(Exception):
    """Signed with our secret, but not a JSON object we can read (see credits/webhooks.py)."""


@dataclass(frozen=True)
class Card:
    payment_method_id: str
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None


@dataclass(frozen=True)
class Payment:
    """A PaymentIntent, as far as we care. ``status`` is Stripe's: succeeded, processing,
    requires_action, requires_payment_method (declined), canceled…"""

    id: str
    status: str
    charge_id: str = ""
    error_message: str = ""
    client_secret: str = ""


def is_configured() -> bool:
    return settings.PAYMENTS_BACKEND == "stripe" and bool(settings.STRIPE_SECRET_KEY)


def uses_local_stand_in() -> bool:
    """True when the API base is on this machine (localstripe): test mode, where a plain form
    may send test card numbers. Real Stripe is only ever reached through Stripe Elements."""
    return urlsplit(settings.STRIPE_API_BASE).hostname in LOCAL_HOSTS


def _client() -> stripe.StripeClient:
    return _client_for(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


@lru_cache(maxsize=4)
def _client_for(api_key: str, api_base: str) -> stripe.StripeClient:
    if not api_key:
        raise PaymentError("Card payments are not set up on this server (no Stripe key).")
    # The SDK retries network errors with the request's idempotency key, so a retry never
    # charges twice.
    return stripe.StripeClient(api_key, base_addresses={"api": api_base}, max_network_retries=2)


def _translate(error: stripe.StripeError) -> PaymentError:
    payment_intent = getattr(getattr(error, "error", None), "payment_intent", None)
    intent_id = id_of(payment_intent)
    code = error.code or ""
    message = error.user_message or str(getattr(error, "_message", "") or error) or "Failed"
    if isinstance(error, stripe.CardError):
        return CardDeclined(message, code=code, payment_intent_id=intent_id)
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError) or (
        (error.http_status or 0) >= 500
    ):
        return PaymentUnavailable(
            "The payment provider could not be reached. Nothing was charged; please try again.",
            code=code,
            payment_intent_id=intent_id,
        )
    logger.warning("stripe refused a request: %s", error)
    return PaymentError(message, code=code, payment_intent_id=intent_id)


def id_of(value) -> str:
    """Stripe expands some fields into objects (localstripe always does); we want the id."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return value.get("id") or ""
    return getattr(value, "id", "") or ""


def _plain(obj: stripe.StripeObject) -> dict:
    return obj.to_dict()


def _payment(intent: dict) -> Payment:
    error = intent.get("last_payment_error") or {}
    return Payment(
        id=intent["id"],
        status=intent["status"],
        charge_id=id_of(intent.get("latest_charge")),
        error_message=error.get("message") or "",
        client_secret=intent.get("client_secret") or "",
    )


# --- Customers and cards ----------------------------------------------------------------------


def customer_create(*, organization_id: int, name: str, email: str = "") -> str:
    params = {"name": name, "metadata": {"organization_id": str(organization_id)}}
    if email:
        params["email"] = email
    try:
        customer = _client().v1.customers.create(
            params, {"idempotency_key": f"customer-org-{organization_id}"}
        )
    except stripe.StripeError as error:
        raise _translate(error) from error
    return customer.id


def setup_intent_create(*, customer_id: str) -> tuple[str, str]:
    """A SetupIntent for saving a card for later off-session payments: (id, client_secret)."""
    try:
        intent = _client().v1.setup_intents.create(
            {"customer": customer_id, "usage": "off_session", "payment_method_types": ["card"]}
        )
    except stripe.StripeError as error:
        raise _translate(error) from error
    return intent.id, intent.client_secret


def setup_intent_confirm_test_card(
    *, setup_intent_id: str, number: str, exp_month: int, exp_year: int, cvc: str
) -> None:
    """Test mode only: confirm the SetupIntent with a test card number typed into our own form
    (what Stripe Elements does in the browser in production)."""
    if not uses_local_stand_in():
        raise PaymentError("Card numbers are only accepted by the test-mode form.")
    card = {"number": number, "exp_month": exp_month, "exp_year": exp_year, "cvc": cvc}
    client = _client()
    try:
        intent = client.v1.setup_intents.confirm(
            setup_intent_id, {"payment_method_data": {"type": "card", "card": card}}
        )
        if intent.status == "requires_action":
            # The stand-in's 3-D Secure test cards: the admin is present, so this is the
            # on-session confirmation Elements would show; approve it.
            client.v1.setup_intents.confirm(setup_intent_id)
    except stripe.StripeError as error:
        raise _translate(error) from error


def card_from_setup_intent(*, setup_intent_id: str, customer_id: str) -> Card:
    """The card a succeeded SetupIntent of this customer saved, attached to the customer."""
    client = _client()
    try:
        intent = _plain(client.v1.setup_intents.retrieve(setup_intent_id))
        if id_of(intent.get("customer")) != customer_id:
            raise PaymentError("This card setup belongs to someone else.")
        if intent["status"] != "succeeded":
            raise PaymentError("The card was not confirmed; please try again.")
        method_id = id_of(intent.get("payment_method"))
        method = _plain(client.v1.payment_methods.retrieve(method_id))
        if not id_of(method.get("customer")):
            method = _plain(client.v1.payment_methods.attach(method_id, {"customer": customer_id}))
    except stripe.StripeError as error:
        raise _translate(error) from error
    card = method.get("card") or {}
    return Card(
        payment_method_id=method["id"],
        brand=card.get("brand") or "card",
        last4=card.get("last4") or "",
        exp_month=card.get("exp_month"),
        exp_year=card.get("exp_year"),
    )


def payment_method_detach(*, payment_method_id: str) -> None:
    """Best effort: a card we no longer use is detached; failing to do so is only logged."""
    try:
        _client().v1.payment_methods.detach(payment_method_id)
    except stripe.StripeError as error:
        logger.warning("could not detach %s: %s", payment_method_id, error)


# --- Payments ---------------------------------------------------------------------------------


def payment_create(
    *,
    customer_id: str,
    payment_method_id: str,
    amount_cents: int,
    idempotency_key: str,
    metadata: dict[str, str],
    currency: str = "usd",
) -> Payment:
    """Charge the saved card now, off-session. A decline raises CardDeclined; a bank asking for
    3-D Secure comes back as status ``requires_action``."""
    params = {
        "amount": amount_cents,
        "currency": currency,
        "customer": customer_id,
        "payment_method": payment_method_id,
        "off_session": True,
        "confirm": True,
        "metadata": metadata,
    }
    try:
        intent = _client().v1.payment_intents.create(params, {"idempotency_key": idempotency_key})
    except stripe.CardError as error:
        translated = _translate(error)
        if error.code == "authentication_required" and translated.payment_intent_id:
            # Real Stripe answers an off-session payment that needs 3-D Secure with this error.
            return payment_retrieve(payment_intent_id=translated.payment_intent_id)
        raise translated from error
    except stripe.StripeError as error:
        raise _translate(error) from error
    return _payment(_plain(intent))


def payment_retrieve(*, payment_intent_id: str) -> Payment:
    try:
        return _payment(_plain(_client().v1.payment_intents.retrieve(payment_intent_id)))
    except stripe.StripeError as error:
        raise _translate(error) from error


def payment_authenticate_test(*, payment_intent_id: str, approve: bool) -> Payment:
    """Test mode only: answer the stand-in's 3-D Secure challenge as the bank's page would."""
    if not uses_local_stand_in():
        raise PaymentError("Simulated bank confirmation exists only in test mode.")
    client = _client()
    try:
        intent = client.v1.payment_intents.retrieve(payment_intent_id)
        client.raw_request(
            "post",
            f"/v1/payment_intents/{payment_intent_id}/_authenticate",
            client_secret=intent.client_secret,
            success="true" if approve else "false",
        )
    except stripe.StripeError as error:
        raise _translate(error) from error
    return payment_retrieve(payment_intent_id=payment_intent_id)


# --- Webhooks ---------------------------------------------------------------------------------


def event_from_webhook(*, payload: bytes, signature: str) -> dict:
    """The event as a plain dict, once its Stripe-Signature header checks out.

    The signature is checked on the raw bytes first; only then is the body parsed, by us and
    with a nesting limit (the SDK's own parse recurses, and builds objects we never use)."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise InvalidWebhook("STRIPE_WEBHOOK_SECRET is not set, so no webhook can be trusted")
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature, secret)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as error:
        raise InvalidWebhook(str(error)) from error
    if json_depth(text) > settings.API_JSON_MAX_DEPTH:
        raise MalformedWebhook("the event nests too deeply")
    try:
        event = json.loads(text)
    except ValueError as error:
        raise MalformedWebhook(f"not JSON: {error}") from None
    if not isinstance(event, dict):
        raise MalformedWebhook("the event is not a JSON object")
    return event
