"""Sending through the API with an API key: the send scope sends, in the key's organization,
in the name of the admin who made the key; read and write keys are refused."""

import json

import pytest
from django.test import Client

from broadcasts.models import Broadcast, Recipient
from smsvoice.api_keys import api_key_create
from tests.broadcasts.sms_helpers import family_with_number, sender_ready

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def rate_counters_clean(settings):
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    keys = list(client.scan_iter(match="apikey-rate:*"))
    if keys:
        client.delete(*keys)


def _post(key: str, body: dict):
    return Client().post(
        "/api/v1/broadcasts/",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def _key(member, *scopes) -> str:
    return api_key_create(
        organization=member.organization, name="School system", scopes=scopes, created_by=member
    )[1]


def test_a_send_key_sends_a_broadcast_in_its_organization(org, other_org, admin_member):
    sender_ready(org)
    family = family_with_number(org)
    theirs = family_with_number(other_org)
    body = {"selection": {"kind": "families", "ids": [family.pk, theirs.pk]}, "text": "Closed"}

    made = _post(_key(admin_member, "send"), body)

    assert made.status_code == 201, made.content
    broadcast = Broadcast.objects.get(pk=made.json()["id"])
    assert broadcast.organization == org and broadcast.sender == admin_member
    # The other organization's family id selects nothing: one recipient, ours.
    assert Recipient.objects.filter(broadcast=broadcast).count() == 1


def test_read_and_write_keys_cannot_send(org, admin_member):
    sender_ready(org)
    family = family_with_number(org)
    body = {"selection": {"kind": "families", "ids": [family.pk]}, "text": "Closed"}
    for scopes in (("read",), ("write",), ("read", "write")):
        refused = _post(_key(admin_member, *scopes), body)
        assert refused.status_code == 403, scopes
        assert "send scope" in refused.json()["detail"]
    assert not Broadcast.objects.exists()
