"""Fuzz the whole API with schemathesis against the live server, as staff.

Every operation of /api/v1/schema/ gets generated requests, valid and invalid by the schema;
each answer must be no 5xx and must be what the schema says (status code, content type, body).
The organization has no sending number and no credits, so a send is refused before anything
could go out (and without Twilio keys the outbox would take it anyway). Bounded to a few
examples an operation: it is a net for whole classes of mistakes, not a search for all of them.
"""

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import FamilyFactory, ProgramFactory, StudentFactory

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 5


@pytest.fixture
def staff_session(live_server, staff_member) -> requests.Session:
    """A browser-like session: the staff member's session cookie and the CSRF header."""
    from django.test import Client

    django_client = Client()
    django_client.force_login(staff_member.user)
    session = requests.Session()
    session.cookies.set("sessionid", django_client.cookies["sessionid"].value)
    session.get(f"{live_server.url}/accounts/login/", timeout=10)  # sets the csrftoken cookie
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    return session


def _api_schema():
    """The schema the server serves at /api/v1/schema/, built the same way at collection time
    (schemathesis makes one test per operation from it)."""
    from drf_spectacular.generators import SchemaGenerator

    return schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


@pytest.fixture
def directory(org):
    family = FamilyFactory(organization=org)
    StudentFactory(family=family, program=ProgramFactory(organization=org))


schema = _api_schema()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_every_request_as_its_schema_says(
    case, live_server, staff_session, directory
):
    case.call_and_validate(base_url=live_server.url, session=staff_session, checks=CHECKS)


@pytest.mark.django_db
def test_the_fuzzed_schema_is_the_one_served(staff_client):
    served = staff_client.get("/api/v1/schema/?format=json").json()
    assert served["paths"].keys() == schema.raw_schema["paths"].keys()


@pytest.mark.django_db
def test_the_schema_says_what_the_server_refuses(staff_client):
    served = staff_client.get("/api/v1/schema/?format=json").json()
    selection = served["components"]["schemas"]["SelectionRequest"]["properties"]
    assert selection["filter"]["additionalProperties"] is False
    assert {"program", "location", "age_min"} <= set(selection["filter"]["properties"])
    compose = served["components"]["schemas"]["ComposeRequest"]["properties"]
    assert compose["selection"]["allOf"][0]["$ref"].endswith("/SelectionRequest")
    paths = served["paths"]
    assert {"200", "400", "403"} <= set(paths["/api/v1/broadcasts/preview/"]["post"]["responses"])
    assert "404" in paths["/api/v1/broadcasts/{id}/"]["get"]["responses"]
    assert {"400", "404"} <= set(paths["/api/v1/families/"]["get"]["responses"])
    assert list(paths["/api/v1/broadcasts/"]["post"]["requestBody"]["content"]) == [
        "application/json"
    ]


@pytest.mark.django_db
def test_an_address_no_api_route_matches_is_a_json_404(staff_client):
    response = staff_client.get("/api/v1/broadcasts/null,null/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_a_nul_in_an_api_query_is_a_json_400(staff_client):
    response = staff_client.get("/api/v1/families/", {"q": "a\x00"})
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
