"""The family page of the portal: the Family Template's numbers, added, changed and removed by a
parent; guardians and students shown read-only."""

import pytest
from django.test import Client
from django.urls import reverse

from families.models import ConsentEvent, PhoneNumber
from families.services import consent_record
from tests.factories import (
    GuardianFactory,
    PhoneFieldFactory,
    ProgramFactory,
    StudentFactory,
)

pytestmark = pytest.mark.django_db
Source = ConsentEvent.Source
HOME = "/portal/"


def save_url(field) -> str:
    return reverse("portal:phone_save", args=[field.pk])


def remove_url(field) -> str:
    return reverse("portal:phone_remove", args=[field.pk])


def test_the_page_shows_template_fields_in_order_guardians_and_students(
    parent_client, org, family, guardian, mother, emergency, mobile
):
    GuardianFactory(family=family, first_name="Luis", last_name="Rivera", email="luis@x.test")
    StudentFactory(
        family=family,
        first_name="Sofia",
        last_name="Rivera",
        program=ProgramFactory(organization=org, name="Tumbling"),
        level="Level 2",
    )
    page = parent_client.get(HOME).content.decode()
    assert page.index("Mother cell") < page.index("Emergency")
    assert "(202) 555-0111" in page
    assert "No number yet." in page
    assert "Luis Rivera" in page and "luis@x.test" in page
    assert "Sofia Rivera" in page and "Tumbling" in page and "Level 2" in page
    # Students are read-only here: no form posts anywhere but the portal's own number URLs.
    assert "/families/" not in page


def test_a_parent_adds_a_number_typed_the_local_way_and_it_is_stored_as_e164(
    parent_client, family, emergency
):
    response = parent_client.post(
        save_url(emergency), {"number": "(212) 555-0142", "text_capable": "on"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{HOME}#field-{emergency.pk}"
    number = PhoneNumber.objects.get(family=family, field=emergency)
    assert (number.e164, number.text_capable, number.sms_opt_in) == ("+12125550142", True, False)
    page = parent_client.get(HOME).content.decode()
    assert "Saved Emergency: (212) 555-0142." in page


def test_a_number_added_without_the_box_ticked_is_not_text_capable(
    parent_client, family, emergency
):
    parent_client.post(save_url(emergency), {"number": "212 555 0142"})
    number = PhoneNumber.objects.get(family=family, field=emergency)
    assert number.text_capable is False
    page = parent_client.get(HOME).content.decode()
    assert "Can't receive texts" in page
    assert reverse("portal:texts_yes", args=[number.pk]) not in page


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("555-01", "555-01 is not a valid US number."),
        ("+44 20 7946 0958", "+44 20 7946 0958 is not a valid US number."),
        ("call me", "call me is not a valid US number."),
        ("", "Enter a phone number."),
    ],
)
def test_a_bad_number_gets_a_clear_message_and_changes_nothing(
    parent_client, family, mother, mobile, typed, message
):
    response = parent_client.post(save_url(mother), {"number": typed, "text_capable": "on"})
    assert response.status_code == 400
    assert message in response.content.decode()
    mobile.refresh_from_db()
    assert mobile.e164 == "+12025550111"
    assert PhoneNumber.objects.filter(family=family).count() == 1


def test_new_digits_clear_the_opt_in_with_a_portal_event(
    parent_client, guardian, mother, mobile, policy
):
    consent_record(phone_number=mobile, opted_in=True, source=Source.PORTAL, actor=guardian.user)
    response = parent_client.post(save_url(mother), {"number": "2025550199", "text_capable": "on"})
    assert response.status_code == 302
    mobile.refresh_from_db()
    assert (mobile.e164, mobile.sms_opt_in) == ("+12025550199", False)
    last = ConsentEvent.objects.filter(phone_number=mobile).order_by("-id").first()
    assert (last.opted_in, last.source, last.actor, last.e164) == (
        False,
        Source.PORTAL,
        guardian.user,
        "+12025550111",
    )
    assert last.note == "number changed to +12025550199"
    page = parent_client.get(HOME).content.decode()
    assert "Not answered yet: texts are off until you say Yes." in page


def test_saving_the_same_digits_keeps_the_opt_in(parent_client, guardian, mother, mobile, policy):
    consent_record(phone_number=mobile, opted_in=True, source=Source.PORTAL, actor=guardian.user)
    parent_client.post(save_url(mother), {"number": "+1 202 555 0111", "text_capable": "on"})
    mobile.refresh_from_db()
    assert mobile.sms_opt_in is True
    assert ConsentEvent.objects.filter(phone_number=mobile).count() == 1


def test_unticking_can_receive_texts_opts_the_number_out(
    parent_client, guardian, mother, mobile, policy
):
    consent_record(phone_number=mobile, opted_in=True, source=Source.PORTAL, actor=guardian.user)
    parent_client.post(save_url(mother), {"number": "2025550111"})
    mobile.refresh_from_db()
    assert (mobile.text_capable, mobile.sms_opt_in) == (False, False)
    last = ConsentEvent.objects.filter(phone_number=mobile).order_by("-id").first()
    assert (last.opted_in, last.source, last.note) == (
        False,
        Source.PORTAL,
        "marked not text-capable",
    )


def test_a_parent_removes_an_optional_number_and_its_history_stays(
    parent_client, guardian, family, emergency, policy
):
    parent_client.post(save_url(emergency), {"number": "2125550142", "text_capable": "on"})
    number = PhoneNumber.objects.get(family=family, field=emergency)
    consent_record(phone_number=number, opted_in=True, source=Source.PORTAL, actor=guardian.user)

    response = parent_client.post(remove_url(emergency))
    assert response.status_code == 302
    assert not PhoneNumber.objects.filter(family=family, field=emergency).exists()
    events = ConsentEvent.objects.filter(e164="+12125550142").order_by("id")
    assert [(e.opted_in, e.source) for e in events] == [(True, "portal"), (False, "portal")]
    assert events.last().note == "number removed"


def test_a_required_number_cannot_be_removed(parent_client, family, mother, mobile):
    response = parent_client.post(remove_url(mother))
    assert response.status_code == 400
    assert "Mother cell is required." in response.content.decode()
    assert PhoneNumber.objects.filter(pk=mobile.pk).exists()
    assert "Remove this number" not in parent_client.get(HOME).content.decode()


def test_a_field_of_another_organization_is_a_404_and_changes_nothing(parent_client, other_number):
    field = other_number.field
    assert parent_client.post(save_url(field), {"number": "2125550142"}).status_code == 404
    assert parent_client.post(remove_url(field)).status_code == 404
    other_number.refresh_from_db()
    assert other_number.e164 == "+13125550177"


def test_every_portal_form_needs_a_csrf_token(guardian, emergency, mobile, policy):
    client = Client(enforce_csrf_checks=True)
    client.force_login(guardian.user)
    posts = [
        (save_url(emergency), {"number": "2125550142", "text_capable": "on"}),
        (remove_url(emergency), {}),
        (reverse("portal:texts_yes", args=[mobile.pk]), {"confirm": "on", "policy_version": 1}),
        (reverse("portal:texts_no", args=[mobile.pk]), {}),
        (reverse("portal:logout"), {}),
        (reverse("portal:login"), {"username": "maria@example.test", "password": "x"}),
        (reverse("portal:password_reset"), {"email": "maria@example.test"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert PhoneNumber.objects.filter(field=emergency).count() == 0
    assert not ConsentEvent.objects.exists()
    page = client.get(HOME).content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 4


def test_the_page_needs_nothing_wider_than_a_phone(parent_client, mother, mobile, policy):
    page = parent_client.get(HOME).content.decode()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "css/portal.css" in page


def test_a_field_added_to_the_template_shows_at_once(parent_client, org):
    PhoneFieldFactory(organization=org, label="Grandma", order=9)
    assert "Grandma" in parent_client.get(HOME).content.decode()
