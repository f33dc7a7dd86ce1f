"""The operator's Django admin: every model of the tenancy and the people directory is there,
its pages open, evidence cannot be written, and list pages cost the same few queries whatever
the number of rows."""

import io

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from families.importing.models import DirectoryImport, ImportReportLine
from families.models import (
    AutoReply,
    ConsentEvent,
    Family,
    FamilyPolicy,
    Guardian,
    OptOut,
    PhoneNumber,
    RevocationReview,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
APPS = ("smsvoice", "families")
# An import is evidence too: the consent events it recorded name its file and basis.
EVIDENCE = (
    ConsentEvent,
    FamilyPolicy,
    OptOut,
    RevocationReview,
    AutoReply,
    DirectoryImport,
    ImportReportLine,
)


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def demo_data():
    call_command("seed_demo", "--families", "15", stdout=io.StringIO())


@pytest.fixture
def operator() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def our_models() -> list:
    return [m for label in APPS for m in apps.get_app_config(label).get_models()]


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_model_of_tenancy_and_directory_is_registered():
    missing = [m.__name__ for m in our_models() if not admin.site.is_registered(m)]
    assert missing == []


@pytest.mark.parametrize("model", our_models(), ids=lambda m: m.__name__)
def test_the_list_search_and_change_pages_open_for_a_superuser(model, demo_data, operator):
    row = model.objects.order_by("pk").first()
    assert row is not None, f"the demo data has no {model.__name__}"
    assert operator.get(url(model, "changelist")).status_code == 200
    assert operator.get(url(model, "changelist"), {"q": "a"}).status_code == 200
    response = operator.get(url(model, "change", row.pk))
    assert response.status_code == 200
    assert str(row) in response.text
    if model not in EVIDENCE:
        assert operator.get(url(model, "add")).status_code == 200


@pytest.mark.parametrize("model", our_models(), ids=lambda m: m.__name__)
def test_a_list_page_costs_the_same_queries_with_more_rows(model, operator):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert operator.get(url(model, "changelist")).status_code == 200
        return len(captured)

    call_command("seed_demo", "--families", "5", stdout=io.StringIO())
    few = queries()
    call_command("seed_demo", "--families", "40", stdout=io.StringIO())
    assert queries() == few


@pytest.mark.parametrize("model", EVIDENCE, ids=lambda m: m.__name__)
def test_evidence_cannot_be_added_changed_or_deleted(model, demo_data, operator):
    row = model.objects.order_by("pk").first()
    before = list(model.objects.order_by("pk").values())
    assert operator.get(url(model, "add")).status_code == 403
    assert operator.post(url(model, "add"), {}).status_code == 403
    page = operator.get(url(model, "change", row.pk))
    assert page.status_code == 200 and 'name="_save"' not in page.text
    assert operator.post(url(model, "change", row.pk), {"e164": "+12025550199"}).status_code == 403
    assert operator.get(url(model, "delete", row.pk)).status_code == 403
    assert operator.post(url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    bulk_delete = {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
    operator.post(url(model, "changelist"), bulk_delete)
    assert list(model.objects.order_by("pk").values()) == before


def test_a_numbers_opt_in_cannot_be_switched_in_the_admin(demo_data, operator):
    number = PhoneNumber.objects.filter(
        sms_opt_in=False, text_capable=True, consent_events=None
    ).first()
    page = operator.get(url(PhoneNumber, "change", number.pk))
    assert 'name="sms_opt_in"' not in page.text
    form = page.context["adminform"].form
    data = {
        n: "" if form[n].value() in (None, False) else str(form[n].value()) for n in form.fields
    }
    data.update(text_capable="on", sms_opt_in="on")
    response = operator.post(url(PhoneNumber, "change", number.pk), data)
    assert response.status_code == 302
    number.refresh_from_db()
    assert number.sms_opt_in is False
    assert not ConsentEvent.objects.filter(phone_number=number).exists()


def test_a_guardian_added_on_the_family_page_takes_the_familys_organization(demo_data, operator):
    family = Family.objects.order_by("pk").first()
    page = operator.get(url(Family, "change", family.pk))
    data = post_data(page)
    data.update(
        {
            "guardians-TOTAL_FORMS": str(int(data["guardians-TOTAL_FORMS"]) + 1),
            f"guardians-{data['guardians-TOTAL_FORMS']}-first_name": "Robin",
            f"guardians-{data['guardians-TOTAL_FORMS']}-last_name": "Added",
            f"guardians-{data['guardians-TOTAL_FORMS']}-family": str(family.pk),
        }
    )
    response = operator.post(url(Family, "change", family.pk), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    added = Guardian.objects.get(first_name="Robin", last_name="Added")
    assert (added.family, added.organization) == (family, family.organization)


def post_data(page) -> dict[str, str]:
    """What the browser would post back unchanged from an admin change page."""
    forms = [page.context["adminform"].form]
    data: dict[str, str] = {}
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        data.update({management.add_prefix(n): management[n].value() for n in management.fields})
        forms += formset.forms
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if isinstance(value, bool):
                if value:
                    data[form.add_prefix(name)] = "on"
            elif value is not None:
                data[form.add_prefix(name)] = str(value)
    return data
