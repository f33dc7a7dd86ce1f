"""Fixtures for the credits tests: Celery run eagerly, cards on file at localstripe, and
webhook events signed the way Stripe (and localstripe) sign them."""

import hashlib
import hmac
import json
import time

import pytest
import requests

from credits import payments
from credits.models import CreditAccount

GOOD_CARD = "4242424242424242"
DECLINED_ON_SAVE = "4000000000000002"  # refused when it is attached, as at Stripe
DECLINED_ON_CHARGE = "4000000000000341"  # saves fine, every charge is declined
NEEDS_3DS = "4000002760003184"  # every payment asks for the bank's confirmation


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in-process (make test points Celery at Redis, where no worker runs)."""
    from smsvoice.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


def add_card(organization, number: str = GOOD_CARD) -> CreditAccount:
    return payments.card_save_test_card(
        organization=organization, number=number, exp_month=12, exp_year=2034, cvc="123"
    )


def signed(event: dict, secret: str) -> tuple[bytes, str]:
    payload = json.dumps(event).encode()
    timestamp = int(time.time())
    signature = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return payload, f"t={timestamp},v1={signature}"


def event(kind: str, obj: dict) -> dict:
    return {
        "id": f"evt_{time.time_ns()}",
        "object": "event",
        "type": kind,
        "data": {"object": obj},
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2017-08-15",
    }


def post_event(client, settings, kind: str, obj: dict, *, secret: str | None = None):
    payload, header = signed(event(kind, obj), secret or settings.STRIPE_WEBHOOK_SECRET)
    return client.post(
        "/credits/stripe/webhook/",
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": header},
    )


def stripe_get(settings, path: str) -> dict:
    """Read localstripe directly, as a check on what Stripe really received."""
    response = requests.get(
        f"{settings.STRIPE_API_BASE}{path}", auth=(settings.STRIPE_SECRET_KEY, ""), timeout=10
    )
    response.raise_for_status()
    return response.json()


def stripe_post(settings, path: str, **data) -> dict:
    response = requests.post(
        f"{settings.STRIPE_API_BASE}{path}",
        data=data,
        auth=(settings.STRIPE_SECRET_KEY, ""),
        timeout=10,
    )
    response.raise_for_status()
    return response.json()
