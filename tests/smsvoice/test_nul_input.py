"""A NUL character in any input is a 400 with nothing written, on every URL of the site."""

import re

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver

from tests.broadcasts.sms_helpers import family_with_number, sender_ready
from tests.factories import GuardianFactory, StudentFactory

pytestmark = pytest.mark.django_db

SKIP = re.compile(r"^admin/")
FIELDS = ("text", "body", "from", "name", "next", "q", "action", "email", "label", "e164")


def routes() -> list[str]:
    found = []

    def walk(patterns, prefix=""):
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern) and not SKIP.search(route):
                found.append(route)

    walk(get_resolver().url_patterns)
    return found


def fill(route: str, ids: dict[str, int]) -> str:
    path = re.sub(r"<int:(\w+)>", lambda m: str(ids.get(m.group(1), ids["pk"])), route)
    path = re.sub(r"<str:kind>", "families", path)
    path = re.sub(r"<(?:str|slug):\w+>", "x", path)
    return "/" + path.lstrip("^").rstrip("$")


def row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


@pytest.fixture
def site(org, admin_member):
    sender_ready(org, credits=50)
    family = family_with_number(org)
    GuardianFactory(family=family)
    StudentFactory(family=family)
    return {"pk": family.pk, "family_pk": family.pk}


@pytest.mark.parametrize("route", routes())
def test_a_nul_in_a_form_field_is_a_400_and_writes_nothing(admin_client, site, route):
    path = fill(route, site)
    data = {name: f"a\x00{name}" for name in FIELDS} | {"action": "send"}
    before = row_counts()
    response = admin_client.post(path, data, HTTP_HX_REQUEST="true")
    if route.startswith("api/"):  # JSON only: a form body is refused (415, or 404 or 405 first)
        assert response.status_code in (400, 404, 405, 415), path
    else:
        assert response.status_code == 400, path
        assert b"NUL" in response.content
    assert row_counts() == before


@pytest.mark.parametrize("route", routes())
def test_a_nul_in_the_query_string_is_a_400(admin_client, site, route):
    response = admin_client.get(fill(route, site), {"q": "x\x00", "next": "/\x00"})
    assert response.status_code == 400


def test_a_nul_in_the_path_or_a_cookie_is_a_400(client, admin_client):
    assert client.get("/portal/invitation/abc%00def/").status_code == 400
    admin_client.cookies["sessionid"] = "abc\x00def"
    assert admin_client.get("/families/").status_code == 400


def test_the_compose_window_took_nul_into_postgresql_before(admin_client, site):
    # The page that showed the bug: its text went from request.POST to the ORM unchecked.
    response = admin_client.post(
        "/broadcasts/compose/sms/families/", {"text": "Closed\x00", "action": "send"}
    )
    assert response.status_code == 400
