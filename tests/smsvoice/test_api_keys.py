"""API keys: made by admins on Settings > API keys, shown once, stored hashed, scoped,
revocable at once, rate-limited per key, and tenant-scoped to the key's organization."""

import hashlib
import json

import pytest
from django.test import Client
from django.urls import reverse

from smsvoice.api_keys import api_key_create, api_key_revoke
from smsvoice.models import APIKey, StaffMember
from tests.factories import FamilyFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db

FAMILIES = "/api/v1/families/"


@pytest.fixture(autouse=True)
def rate_counters_clean(settings):
    """Key ids start again in each test database: counters of an earlier run must not count."""
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    keys = list(client.scan_iter(match="apikey-rate:*"))
    if keys:
        client.delete(*keys)


def _key(member, *scopes, name="Nightly sync") -> str:
    return api_key_create(
        organization=member.organization, name=name, scopes=scopes, created_by=member
    )[1]


def _call(method: str, url: str, key: str, body=None):
    client = Client()
    kwargs = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    if body is not None:
        kwargs |= {"data": json.dumps(body), "content_type": "application/json"}
    return getattr(client, method)(url, **kwargs)


def test_an_admin_makes_a_key_that_is_shown_once_and_stored_hashed(admin_client, org):
    response = admin_client.post(
        reverse("families:api_key_add"), {"name": "iClassPro sync", "scopes": ["read", "write"]}
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    full = response.context["new_key"]
    assert full.startswith("smsv_") and full in response.content.decode()
    key = APIKey.objects.get()
    assert key.organization == org and key.scope_list == ["read", "write"]
    assert key.secret_hash == hashlib.sha256(full.encode()).hexdigest()
    assert full not in json.dumps(list(APIKey.objects.values()), default=str)
    listed = admin_client.get(reverse("families:api_keys")).content.decode()
    assert full not in listed and f"smsv_{key.prefix}_…" in listed
    assert "iClassPro sync" in listed


def test_the_page_is_for_admins_and_refuses_a_key_without_scopes(admin_client, staff_client):
    assert staff_client.get(reverse("families:api_keys")).status_code == 403
    response = admin_client.post(reverse("families:api_key_add"), {"name": "x"})
    assert response.status_code == 400
    assert "Choose at least one scope." in response.content.decode()
    assert not APIKey.objects.exists()


def test_a_key_reads_its_own_organization_only(admin_member, other_org):
    FamilyFactory(organization=admin_member.organization, name="Ours")
    FamilyFactory(organization=other_org, name="Theirs")
    response = _call("get", FAMILIES, _key(admin_member, "read"))
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["Ours"]


def test_read_cannot_write_and_write_cannot_send(admin_member):
    read, write = _key(admin_member, "read"), _key(admin_member, "write")
    body = {"name": "Rivera"}
    refused = _call("put", "/api/v1/families/by-external-id/F1/", read, body)
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "This API key does not have the write scope this request needs."
    }
    assert _call("put", "/api/v1/families/by-external-id/F1/", write, body).status_code == 201
    assert _call("get", FAMILIES, write).status_code == 403
    send = {"selection": {"kind": "families", "ids": []}, "text": "Closed today"}
    for key in (read, write):
        assert _call("post", "/api/v1/broadcasts/", key, send).status_code == 403


def test_a_send_key_can_send(admin_member):
    send = {"selection": {"kind": "families", "ids": []}, "text": "Closed today"}
    response = _call("post", "/api/v1/broadcasts/", _key(admin_member, "send"), send)
    # Past authentication and scope: refused by the send rules themselves (nobody selected).
    assert response.status_code == 400
    assert "scope" not in response.json().get("detail", "")


def test_endpoints_no_scope_opens_refuse_keys(admin_member):
    response = _call(
        "post", "/api/v1/broadcasts/voice/", _key(admin_member, "read", "write", "send"), {}
    )
    assert response.status_code == 403
    assert "not open to API keys" in response.json()["detail"]


def test_a_revoked_key_is_refused_at_once(admin_member):
    full = _key(admin_member, "read")
    assert _call("get", FAMILIES, full).status_code == 200
    api_key_revoke(key=APIKey.objects.get(), revoked_by=admin_member)
    response = _call("get", FAMILIES, full)
    assert response.status_code == 401
    assert response.json() == {"detail": "This API key was revoked."}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoking_from_the_page(admin_client, admin_member):
    full = _key(admin_member, "read")
    key = APIKey.objects.get()
    response = admin_client.post(reverse("families:api_key_revoke", args=[key.pk]))
    assert response.status_code == 302
    assert _call("get", FAMILIES, full).status_code == 401


def test_another_organizations_admin_cannot_revoke_our_key(admin_member, other_staff_client):
    _key(admin_member, "read")
    key = APIKey.objects.get()
    response = other_staff_client.post(reverse("families:api_key_revoke", args=[key.pk]))
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_wrong_and_malformed_keys_are_401_and_no_key_is_the_403_it_was(admin_member):
    full = _key(admin_member, "read")
    for bad in (full[:-2] + "xx", "smsv_nope_nope", "hello", full + " extra"):
        response = Client().get(FAMILIES, HTTP_AUTHORIZATION=f"Bearer {bad}")
        assert response.status_code == 401, bad
    assert Client().get(FAMILIES).status_code == 403


def test_a_key_stops_when_its_maker_is_no_longer_active_staff(admin_member):
    full = _key(admin_member, "read")
    StaffMember.objects.filter(pk=admin_member.pk).update(is_active=False)
    response = _call("get", FAMILIES, full)
    assert response.status_code == 401
    assert "no longer active staff" in response.json()["detail"]


def test_last_used_is_written_at_most_once_a_minute(admin_member):
    full = _key(admin_member, "read")
    _call("get", FAMILIES, full)
    first = APIKey.objects.get().last_used_at
    assert first is not None
    _call("get", FAMILIES, full)
    assert APIKey.objects.get().last_used_at == first


def test_the_rate_limit_is_per_key(settings, admin_member, monkeypatch):
    settings.API_KEY_RATE_PER_MINUTE = 3
    monkeypatch.setattr("smsvoice.api_keys.time.time", lambda: 1_800_000_030.0)  # :30 of a minute
    one, two = _key(admin_member, "read", name="one"), _key(admin_member, "read", name="two")
    answers = [_call("get", FAMILIES, one).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    limited = _call("get", FAMILIES, one)
    assert limited.status_code == 429
    assert limited["Retry-After"] == "30"
    assert "more than 3 requests this minute" in limited.json()["detail"]
    assert _call("get", FAMILIES, two).status_code == 200


def test_the_browser_session_is_not_rate_limited_by_keys(settings, staff_client):
    settings.API_KEY_RATE_PER_MINUTE = 1
    assert [staff_client.get(FAMILIES).status_code for _ in range(3)] == [200, 200, 200]


def test_only_an_admin_makes_keys(org):
    member = StaffMemberFactory(organization=org, role=StaffMember.Role.STAFF)
    with pytest.raises(Exception, match="Only an admin"):
        _key(member, "read")


def test_the_schema_has_the_bearer_scheme(staff_client):
    served = staff_client.get("/api/v1/schema/?format=json").json()
    scheme = served["components"]["securitySchemes"]["apiKey"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    put = served["paths"]["/api/v1/families/by-external-id/{external_id}/"]["put"]
    assert {"apiKey": []} in put["security"]


def test_a_key_is_served_when_redis_cannot_count(admin_member, monkeypatch):
    import redis

    def down(name):
        raise redis.ConnectionError("Redis is away")

    monkeypatch.setattr("smsvoice.api_keys._count", down)
    assert _call("get", FAMILIES, _key(admin_member, "read")).status_code == 200


def test_the_operator_makes_a_key_in_the_admin_shown_once_in_a_message(admin_member):
    from tests.factories import UserFactory

    operator = Client()
    operator.force_login(UserFactory(is_staff=True, is_superuser=True))
    data = {
        "organization": admin_member.organization.pk,
        "name": "Made by the operator",
        "created_by": admin_member.pk,
        "scope_choices": ["read"],
    }
    response = operator.post(reverse("admin:smsvoice_apikey_add"), data, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"] if "smsv_" in str(m)]
    full = shown[0].rsplit(" ", 1)[1]
    key = APIKey.objects.get()
    assert key.secret_hash == hashlib.sha256(full.encode()).hexdigest()
    assert _call("get", FAMILIES, full).status_code == 200
    page = operator.get(reverse("admin:smsvoice_apikey_change", args=[key.pk])).content.decode()
    assert key.secret_hash not in page and full not in page
    operator.post(
        reverse("admin:smsvoice_apikey_changelist"),
        {"action": "revoke", "_selected_action": [key.pk]},
    )
    assert _call("get", FAMILIES, full).status_code == 401
