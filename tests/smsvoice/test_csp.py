"""The Content-Security-Policy: on every kind of page, and templates that need no exception."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import FamilyFactory, GuardianFactory, UserFactory

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


def assert_strict(response) -> None:
    csp = policy(response)
    assert csp["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["style-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"] and csp["form-action"] == ["'self'"]


@pytest.fixture
def parent_client(org) -> Client:
    guardian = GuardianFactory(family=FamilyFactory(organization=org), user=UserFactory())
    client = Client()
    client.force_login(guardian.user)
    return client


@pytest.mark.parametrize(
    "name", ["families:family_list", "families:student_list", "credits:balance", "api-docs"]
)
def test_staff_pages_carry_the_policy(staff_client, name):
    response = staff_client.get(reverse(name))
    assert response.status_code == 200
    assert_strict(response)


def test_portal_pages_carry_the_policy(parent_client, client):
    assert_strict(parent_client.get(reverse("portal:home")))
    assert_strict(client.get(reverse("portal:login")))
    assert_strict(client.get(reverse("login")))


def test_the_api_and_the_docs_script_carry_it_too(staff_client):
    assert_strict(staff_client.get(reverse("api-docs") + "?script="))
    assert_strict(staff_client.get("/api/v1/families/"))


def test_with_live_stripe_keys_stripe_js_is_allowed(monkeypatch):
    import importlib

    import smsvoice.settings

    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_live_x")
    try:
        live = importlib.reload(smsvoice.settings)
        directives = live.CONTENT_SECURITY_POLICY["DIRECTIVES"]
        assert "https://js.stripe.com" in directives["script-src"]
        assert "https://hooks.stripe.com" in directives["frame-src"]
        assert "https://api.stripe.com" in directives["connect-src"]
        assert "'unsafe-inline'" not in directives["script-src"]
    finally:
        monkeypatch.delenv("STRIPE_SECRET_KEY")
        importlib.reload(smsvoice.settings)


def _templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_has_inline_script_handlers_or_styles(path):
    html = re.sub(r"{% comment %}.*?{% endcomment %}", "", path.read_text(), flags=re.DOTALL)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>: use static/js"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler: use static/js"
    assert not re.search(r"\sstyle\s*=", html), "inline style attribute: use static/css"
    assert "<style" not in html, "inline <style>: use static/css"
    assert "javascript:" not in html.lower()
