"""Tenancy across the whole site: every URL that takes an id, given another organization's ids,
answers 404 (or refuses the method) to an admin of this organization, for GET and POST."""

import re

import pytest
from django.apps import apps
from django.db.models import AutoField
from django.urls import URLPattern, URLResolver, get_resolver

from families.selection import Selection
from tests.broadcasts.sms_helpers import family_with_number, sender_ready
from tests.factories import (
    FamilyPolicyFactory,
    GuardianFactory,
    StaffMemberFactory,
    StudentFactory,
)

pytestmark = pytest.mark.django_db

# Webhooks are reached by providers, not staff; they have their own signature tests.
SKIP = re.compile(r"webhook|^admin/|^api/v1/(schema|docs)")


def id_routes() -> list[tuple[str, list[str]]]:
    """(route template, names of its integer parameters) for every URL with an int id."""
    found = []

    def walk(patterns, prefix=""):
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern):
                names = re.findall(r"<int:(\w+)>", route)
                if names and not SKIP.search(route):
                    found.append((route, names))

    walk(get_resolver().url_patterns)
    return found


def fill(route: str, value: int) -> str:
    return "/" + re.sub(r"<int:\w+>", str(value), route).lstrip("^").rstrip("$")


@pytest.fixture
def theirs(other_org):
    """A full organization: families, people, numbers, policy, a broadcast, credits. Its ids
    start far above ours, so an id of theirs never happens to be one of ours too."""
    from django.db import connection

    from broadcasts.sms.compose import broadcast_create

    with connection.cursor() as cursor:
        for model in apps.get_models():
            if not isinstance(model._meta.pk, AutoField):
                continue
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), 100000)", [model._meta.db_table]
            )

    sender = StaffMemberFactory(organization=other_org, role="admin")
    sender_ready(other_org, credits=50, e164="+14155550177")
    family = family_with_number(other_org)
    GuardianFactory(family=family)
    StudentFactory(family=family)
    FamilyPolicyFactory(organization=other_org)
    broadcast_create(
        organization=other_org,
        sender=sender,
        selection=Selection(kind="families", ids=frozenset([family.pk])),
        text="Theirs",
    )
    ids = set()
    for model in apps.get_models():
        if any(f.name == "organization" for f in model._meta.fields):
            ids |= set(model.objects.filter(organization=other_org).values_list("pk", flat=True))
    return ids


def test_every_id_url_refuses_another_organizations_ids(admin_client, admin_member, theirs):
    routes = id_routes()
    assert len(routes) > 20, "the URL walk found too few routes to mean anything"
    assert min(theirs) > 100_000 > admin_member.pk
    leaks = []
    for route, _names in routes:
        for pk in sorted(theirs):
            url = fill(route, pk)
            for method in (admin_client.get, admin_client.post):
                status = method(url).status_code
                # The portal refuses staff altogether (403); guardians' 404s are in tests/portal.
                allowed = (403, 404, 405) if url.startswith("/portal/") else (404, 405)
                if status not in allowed:
                    leaks.append(f"{method.__name__.upper()} {url} -> {status}")
    assert not leaks, "\n".join(leaks[:40])
