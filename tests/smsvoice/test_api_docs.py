"""The API schema and its docs page: staff only, and served from our own static files."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import FamilyFactory, GuardianFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def parent_client(org) -> Client:
    guardian = GuardianFactory(family=FamilyFactory(organization=org), user=UserFactory())
    client = Client()
    client.force_login(guardian.user)
    return client


def test_staff_get_the_schema(staff_client):
    response = staff_client.get(reverse("api-schema"), HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert "/api/v1/broadcasts/preview/" in response.json()["paths"]


def test_an_anonymous_visitor_gets_no_schema(client):
    assert client.get(reverse("api-schema")).status_code == 403


def test_a_parent_gets_no_schema(parent_client):
    assert parent_client.get(reverse("api-schema")).status_code == 403


def test_an_anonymous_visitor_is_sent_to_the_login_from_the_docs(client):
    response = client.get(reverse("api-docs"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_parent_gets_403_on_the_docs(parent_client):
    assert parent_client.get(reverse("api-docs")).status_code == 403
    assert parent_client.get(reverse("api-docs") + "?script=").status_code == 403


def test_the_docs_load_swagger_ui_from_our_static_files(staff_client):
    html = staff_client.get(reverse("api-docs")).content.decode()
    assert "cdn.jsdelivr.net" not in html and "unpkg" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "<style" not in html
    scripts = html.count("<script")
    assert scripts == html.count("<script src="), "no inline script: the CSP would block it"


def test_the_docs_start_up_script_is_a_file_of_its_own(staff_client):
    response = staff_client.get(reverse("api-docs") + "?script=")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()


def test_the_swagger_ui_files_are_there(staff_client):
    from django.contrib.staticfiles import finders

    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert finders.find("css/api_docs.css")
