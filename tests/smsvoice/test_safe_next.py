"""Every view that takes a `next` keeps it only when it is an address on this site."""

import pytest
from django.test import Client
from django.urls import reverse

from smsvoice.http import safe_next

pytestmark = pytest.mark.django_db

HOSTILE = [
    "javascript:alert(document.domain)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "//evil.example/",
    "https://evil.example/",
    "http://evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "data:text/html,<script>alert(1)</script>",
    "https:evil.example",
]
EVIDENCE = ("evil.example", "javascript:", "JavaScript:", "data:text")


def assert_not_reflected(response) -> None:
    where = response.get("Location", "") + response.content.decode()
    for word in EVIDENCE:
        assert word not in where, f"{word!r} reflected (status {response.status_code})"


def _families_selection(client: Client, next_url: str):
    return client.post(
        reverse("families:selection", args=["families"]), {"action": "clear", "next": next_url}
    )


def _families_selection_fragment(client: Client, next_url: str):
    return client.post(
        reverse("families:selection", args=["families"]),
        {"action": "clear", "next": next_url},
        HTTP_HX_REQUEST="true",
    )


def _sms_compose(client: Client, next_url: str):
    return client.get(reverse("broadcasts:compose", args=["families"]), {"next": next_url})


def _voice_compose(client: Client, next_url: str):
    return client.get(reverse("broadcasts:voice_compose", args=["families"]), {"next": next_url})


STAFF_VIEWS = [_families_selection, _families_selection_fragment, _sms_compose, _voice_compose]


@pytest.mark.parametrize("next_url", HOSTILE)
@pytest.mark.parametrize("view", STAFF_VIEWS, ids=lambda v: v.__name__.strip("_"))
def test_staff_views_never_reflect_a_hostile_next(staff_client, view, next_url):
    response = view(staff_client, next_url)
    assert response.status_code < 500
    assert_not_reflected(response)


@pytest.mark.parametrize("next_url", HOSTILE)
@pytest.mark.parametrize("login", ["login", "portal:login"])
def test_login_pages_never_reflect_a_hostile_next(client, login, next_url):
    response = client.get(reverse(login), {"next": next_url})
    assert response.status_code == 200
    assert_not_reflected(response)


@pytest.mark.parametrize("next_url", HOSTILE)
def test_logging_in_never_goes_to_a_hostile_next(client, staff_member, next_url):
    from tests.factories import PASSWORD

    response = client.post(
        reverse("login"),
        {"username": staff_member.user.username, "password": PASSWORD, "next": next_url},
    )
    assert response.status_code == 302
    assert_not_reflected(response)


@pytest.mark.parametrize("next_url", HOSTILE)
@pytest.mark.parametrize("logout", ["logout", "portal:logout"])
def test_logging_out_never_goes_to_a_hostile_next(staff_client, logout, next_url):
    response = staff_client.post(reverse(logout), {"next": next_url})
    assert response.status_code == 302
    assert_not_reflected(response)


def test_a_next_on_this_site_is_kept(staff_client):
    response = _families_selection(staff_client, "/families/?page=2")
    assert response["Location"] == "/families/?page=2"
    html = _sms_compose(staff_client, "/families/?program=3").content.decode()
    assert 'href="/families/?program=3"' in html


def test_safe_next_takes_the_default_for_anything_else(rf):
    assert safe_next(rf.get("/", {"next": "https://evil.example"}), "/home/") == "/home/"
    assert safe_next(rf.get("/", {"next": "/students/"}), "/home/") == "/students/"
    assert safe_next(rf.get("/"), "/home/") == "/home/"
    secure = rf.get("/", {"next": "http://testserver/x"}, secure=True)
    assert safe_next(secure, "/home/") == "/home/"
