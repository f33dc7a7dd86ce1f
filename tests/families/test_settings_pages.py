import pytest
from django.urls import reverse

from families.models import ConsentEvent, FamilyPolicy, PhoneField, PhoneNumber
from families.services import consent_record, policy_publish
from tests.factories import FamilyFactory, PhoneFieldFactory, PhoneNumberFactory

pytestmark = pytest.mark.django_db
Source = ConsentEvent.Source


def field_labels(org) -> list[str]:
    return list(
        PhoneField.objects.for_org(org).order_by("order", "id").values_list("label", flat=True)
    )


def admin_pages(field: PhoneField) -> list[tuple[str, str, list]]:
    return [
        ("get", "families:settings", []),
        ("get", "families:phone_field_list", []),
        ("post", "families:phone_field_add", []),
        ("get", "families:phone_field_edit", [field.pk]),
        ("post", "families:phone_field_edit", [field.pk]),
        ("post", "families:phone_field_move", [field.pk]),
        ("get", "families:phone_field_delete", [field.pk]),
        ("post", "families:phone_field_delete", [field.pk]),
        ("get", "families:policy", []),
        ("post", "families:policy", []),
    ]


def test_staff_without_the_admin_role_get_403_on_every_settings_page(staff_client, org):
    field = PhoneFieldFactory(organization=org, label="Mother cell")
    data = {"label": "Changed", "direction": "down", "confirm": "on", "text": "New policy"}
    for method, name, args in admin_pages(field):
        response = getattr(staff_client, method)(reverse(name, args=args), data)
        assert response.status_code == 403, (method, name)
    assert field_labels(org) == ["Mother cell"]
    assert not FamilyPolicy.objects.exists()


def test_every_settings_url_with_an_id_gives_404_for_another_organizations_ids(
    admin_client, other_org
):
    theirs = PhoneFieldFactory(organization=other_org, label="Their cell")
    data = {"label": "Changed", "direction": "up", "confirm": "on"}
    for method, name, args in admin_pages(theirs):
        if args:
            response = getattr(admin_client, method)(reverse(name, args=args), data)
            assert response.status_code == 404, (method, name)
    assert PhoneField.objects.get(pk=theirs.pk).label == "Their cell"


def test_the_settings_page_links_the_family_template_and_policies(admin_client):
    content = admin_client.get(reverse("families:settings")).content.decode()
    assert reverse("families:phone_field_list") in content
    assert reverse("families:policy") in content
    assert "Family Template" in content and "Family Policies" in content


def test_only_admins_see_the_settings_link(admin_client, staff_client, org):
    family = FamilyFactory(organization=org)
    url = reverse("families:family_detail", args=[family.pk])
    settings_link = f'href="{reverse("families:settings")}"'
    assert settings_link in admin_client.get(url).content.decode()
    assert settings_link not in staff_client.get(url).content.decode()


def test_a_new_template_field_appears_on_every_family_at_once(admin_client, staff_client, org):
    families = [FamilyFactory(organization=org) for _ in range(3)]
    response = admin_client.post(
        reverse("families:phone_field_add"), {"label": "Grandma cell", "required": "on"}
    )
    assert response.status_code == 302
    field = PhoneField.objects.get(organization=org, label="Grandma cell")
    assert field.required is True
    for family in families:
        content = staff_client.get(reverse("families:family_detail", args=[family.pk])).content
        assert b"Grandma cell" in content
        assert reverse("families:family_phone_set", args=[family.pk, field.pk]).encode() in content


def test_a_duplicate_or_empty_label_is_refused_inline(admin_client, org):
    PhoneFieldFactory(organization=org, label="Mother cell")
    for label, message in (
        ("mother cell", "There is already a phone field called mother cell."),
        ("", "This field is required."),
    ):
        response = admin_client.post(reverse("families:phone_field_add"), {"label": label})
        assert response.status_code == 400
        assert message in response.content.decode()
    assert field_labels(org) == ["Mother cell"]


def test_a_field_label_and_required_flag_can_be_edited(admin_client, org):
    field = PhoneFieldFactory(organization=org, label="Mom cell")
    response = admin_client.post(
        reverse("families:phone_field_edit", args=[field.pk]),
        {"label": "Mother cell", "required": "on"},
    )
    assert response.status_code == 302
    field.refresh_from_db()
    assert (field.label, field.required) == ("Mother cell", True)


def test_fields_move_up_and_down(admin_client, org):
    first, _second, third = (
        PhoneFieldFactory(organization=org, label=label, order=0)
        for label in ("Mother cell", "Father cell", "Emergency")
    )
    admin_client.post(reverse("families:phone_field_move", args=[third.pk]), {"direction": "up"})
    assert field_labels(org) == ["Mother cell", "Emergency", "Father cell"]
    admin_client.post(reverse("families:phone_field_move", args=[first.pk]), {"direction": "down"})
    assert field_labels(org) == ["Emergency", "Mother cell", "Father cell"]
    admin_client.post(reverse("families:phone_field_move", args=[third.pk]), {"direction": "up"})
    assert field_labels(org) == ["Emergency", "Mother cell", "Father cell"]
    content = admin_client.get(reverse("families:phone_field_list")).content.decode()
    assert content.index("Emergency") < content.index("Mother cell") < content.index("Father cell")


def test_deleting_a_field_with_numbers_needs_confirmation(admin_client, org):
    field = PhoneFieldFactory(organization=org, label="Father cell")
    number = PhoneNumberFactory(family=FamilyFactory(organization=org), field=field)
    PhoneNumberFactory(family=FamilyFactory(organization=org), field=field)
    consent_record(phone_number=number, opted_in=True, source=Source.PORTAL)
    url = reverse("families:phone_field_delete", args=[field.pk])

    page = admin_client.get(url).content.decode()
    assert "2 families have a number in Father cell." in page
    assert "deletes those numbers too" in page

    refused = admin_client.post(url, {})
    assert refused.status_code == 400
    assert "Tick the box to confirm" in refused.content.decode()
    assert PhoneNumber.objects.filter(field=field).count() == 2

    assert admin_client.post(url, {"confirm": "on"}).status_code == 302
    assert not PhoneField.objects.filter(pk=field.pk).exists()
    assert not PhoneNumber.objects.exists()
    history = list(ConsentEvent.objects.filter(e164=number.e164).order_by("id"))
    assert [(e.opted_in, e.phone_number_id) for e in history] == [(True, None), (False, None)]
    assert history[-1].note == "phone field Father cell deleted"


def test_deleting_an_empty_field_needs_no_confirmation(admin_client, org):
    field = PhoneFieldFactory(organization=org, label="Emergency")
    response = admin_client.post(reverse("families:phone_field_delete", args=[field.pk]))
    assert response.status_code == 302
    assert not PhoneField.objects.exists()


def test_the_policy_page_publishes_a_new_version_and_lists_past_ones(
    admin_client, admin_member, org
):
    policy_publish(organization=org, text="We text about closures.", actor=None)
    response = admin_client.post(
        reverse("families:policy"),
        {"text": "We text about closures and schedule changes. Reply STOP to opt out."},
    )
    assert response.status_code == 302
    current = FamilyPolicy.objects.for_org(org).order_by("-version").first()
    assert (current.version, current.created_by) == (2, admin_member.user)
    content = admin_client.get(reverse("families:policy")).content.decode()
    assert "Current policy: version 2" in content
    assert "schedule changes" in content
    assert "Version 1 ·" in content
    assert f"{admin_member.full_name} (admin)" in content


def test_saving_an_unchanged_policy_makes_no_new_version(admin_client, org):
    policy_publish(organization=org, text="We text about closures.", actor=None)
    admin_client.post(reverse("families:policy"), {"text": "We text about closures."})
    assert FamilyPolicy.objects.for_org(org).count() == 1


def test_an_empty_policy_is_refused(admin_client, org):
    response = admin_client.post(reverse("families:policy"), {"text": "   "})
    assert response.status_code == 400
    assert "The policy cannot be empty." in response.content.decode()
    assert not FamilyPolicy.objects.exists()


def test_policies_of_another_organization_are_not_shown(admin_client, other_org):
    policy_publish(organization=other_org, text="Their secret policy", actor=None)
    content = admin_client.get(reverse("families:policy")).content.decode()
    assert "Their secret policy" not in content
    assert "No policy yet" in content
