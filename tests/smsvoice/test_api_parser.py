"""Hostile JSON bodies get a 400 with a reason from every API endpoint, never a 500."""

import json

import pytest
from django.urls import reverse

from smsvoice.parsers import has_nul, json_depth

pytestmark = pytest.mark.django_db

PREVIEW = "/api/v1/broadcasts/preview/"


def post(client, url, body: str):
    return client.post(url, data=body, content_type="application/json")


def test_json_depth_counts_nesting_but_not_brackets_in_strings():
    assert json_depth('{"a": [1, {"b": "[[[["}]}') == 3
    assert json_depth('"just a string"') == 0
    assert json_depth('["\\"[", []]') == 2


def test_has_nul_looks_into_keys_and_nested_values():
    assert has_nul({"a": [{"b\x00": 1}]})
    assert has_nul(["ok", {"x": "bad\x00"}])
    assert not has_nul({"a": ["fine", 1, None]})


@pytest.mark.parametrize(
    "url", [PREVIEW, "/api/v1/broadcasts/", "/api/v1/selections/count/"]
)
def test_a_deeply_nested_body_is_a_400(staff_client, url):
    response = post(staff_client, url, "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400
    assert "nests deeper than" in response.json()["detail"]


def test_a_body_nesting_a_little_is_still_read(staff_client):
    body = {"selection": {"kind": "families", "ids": []}, "text": "hello"}
    response = post(staff_client, PREVIEW, json.dumps(body))
    assert response.status_code != 500
    assert "nests deeper" not in response.content.decode()


def test_an_oversized_body_is_a_400(staff_client, settings):
    settings.API_JSON_MAX_BYTES = 1000
    response = post(staff_client, PREVIEW, json.dumps({"text": "x" * 2000}))
    assert response.status_code == 400
    assert "larger than" in response.json()["detail"]


def test_a_nul_character_anywhere_in_a_body_is_a_400(staff_client):
    body = {"selection": {"kind": "families", "ids": [], "filter": {"q": "a\x00b"}}, "text": "hi"}
    response = post(staff_client, PREVIEW, json.dumps(body))
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


def test_broken_json_is_still_a_400(staff_client):
    assert post(staff_client, PREVIEW, '{"text": ').status_code == 400
    assert post(staff_client, PREVIEW, '{"text": NaN}').status_code == 400
    assert post(staff_client, PREVIEW, b"\xff\xfe{".decode("latin-1")).status_code == 400


def test_the_project_parser_is_the_default(settings):
    assert settings.REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"][0] == "smsvoice.parsers.JSONParser"
    assert reverse("api-schema")
