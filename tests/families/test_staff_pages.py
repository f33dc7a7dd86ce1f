import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from families.models import ConsentEvent, PhoneNumber
from families.services import consent_record
from smsvoice.models import StaffMember
from tests.factories import PhoneNumberFactory, StaffMemberFactory, UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
Source = ConsentEvent.Source


def staff_number(member: StaffMember, **kwargs) -> PhoneNumber:
    return PhoneNumberFactory(
        family=None, field=None, staff_member=member, organization=member.organization, **kwargs
    )


def new_member_data(**overrides) -> dict:
    data = {
        "first_name": "Maya",
        "last_name": "Lopez",
        "title": "Head coach",
        "email": "maya@gym.test",
        "role": "staff",
        "is_active": "on",
        "can_log_in": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_staff_page_shows_their_details_and_numbers_with_the_consent_controls(
    staff_client, org
):
    member = StaffMemberFactory(
        organization=org, first_name="Maya", last_name="Lopez", title="Head coach"
    )
    number = staff_number(member, e164="+12025550177", label="Cell")
    consent_record(phone_number=number, opted_in=True, source=Source.PORTAL)
    response = staff_client.get(reverse("families:staff_detail", args=[member.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    for expected in ("Maya Lopez", "Head coach", "Cell · (202) 555-0177", "Consent history (1)"):
        assert expected in content
    assert "families/_number.html" in [t.name for t in response.templates]


def test_an_admin_creates_a_staff_member_whose_email_lets_them_set_a_password(
    admin_client, org, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("families:staff_create"), new_member_data())
    member = StaffMember.objects.get(organization=org, email="maya@gym.test")
    assert response.status_code == 302
    assert (member.user.username, member.role, member.title) == (
        "maya@gym.test",
        "staff",
        "Head coach",
    )
    assert not member.user.has_usable_password()
    assert [m.to for m in mailoutbox] == [["maya@gym.test"]]
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mailoutbox[0].body).group(1)
    assert org.name in mailoutbox[0].subject

    set_password = Client()
    form_page = set_password.get(link, follow=True)
    assert form_page.context["validlink"] is True
    set_password.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-long-new-passphrase-42", "new_password2": "a-long-new-passphrase-42"},
    )
    member.user.refresh_from_db()
    assert member.user.check_password("a-long-new-passphrase-42")


def test_a_staff_member_without_a_login_gets_no_user_and_no_email(
    admin_client, org, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("families:staff_create"), new_member_data(can_log_in=None))
    member = StaffMember.objects.get(organization=org, email="maya@gym.test")
    assert member.user is None
    assert mailoutbox == []


def test_a_login_email_already_in_use_is_refused_and_creates_nothing(
    admin_client, org, mailoutbox, django_capture_on_commit_callbacks
):
    UserFactory(username="maya@gym.test")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("families:staff_create"), new_member_data(email="Maya@gym.test")
        )
    assert response.status_code == 400
    assert "There is already a login for maya@gym.test." in response.content.decode()
    assert not StaffMember.objects.filter(email__iexact="maya@gym.test").exists()
    assert User.objects.filter(username__iexact="maya@gym.test").count() == 1
    assert mailoutbox == []


def test_a_login_needs_an_email(admin_client, org):
    response = admin_client.post(reverse("families:staff_create"), new_member_data(email=""))
    assert response.status_code == 400
    assert "A login needs an email address." in response.content.decode()
    assert not StaffMember.objects.filter(first_name="Maya").exists()


def test_staff_without_the_admin_role_get_403_on_creating_and_editing_staff(
    staff_client, staff_member
):
    assert staff_client.get(reverse("families:staff_create")).status_code == 403
    assert staff_client.post(reverse("families:staff_create"), new_member_data()).status_code == 403
    edit = reverse("families:staff_edit", args=[staff_member.pk])
    assert staff_client.get(edit).status_code == 403
    assert staff_client.post(edit, new_member_data(role="admin")).status_code == 403
    staff_member.refresh_from_db()
    assert staff_member.role == "staff"
    assert not StaffMember.objects.filter(first_name="Maya").exists()


def test_an_admin_edits_a_staff_member(admin_client, org):
    member = StaffMemberFactory(organization=org, email="old@gym.test")
    response = admin_client.post(
        reverse("families:staff_edit", args=[member.pk]),
        new_member_data(email="new@gym.test", role="admin"),
    )
    assert response.status_code == 302
    member.refresh_from_db()
    member.user.refresh_from_db()
    assert (member.first_name, member.role, member.email) == ("Maya", "admin", "new@gym.test")
    assert member.user.username == "new@gym.test"


def test_turning_a_login_off_deactivates_the_user(admin_client, org):
    member = StaffMemberFactory(organization=org, email="coach@gym.test")
    admin_client.post(
        reverse("families:staff_edit", args=[member.pk]),
        new_member_data(email="coach@gym.test", can_log_in=None),
    )
    member.user.refresh_from_db()
    assert member.user.is_active is False


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(admin_client, admin_member):
    url = reverse("families:staff_edit", args=[admin_member.pk])
    for change in ({"role": "staff"}, {"is_active": None}):
        data = new_member_data(**{"email": admin_member.user.username, "role": "admin", **change})
        response = admin_client.post(url, data)
        assert response.status_code == 400
        assert "at least one active admin" in response.content.decode()
    admin_member.refresh_from_db()
    assert (admin_member.role, admin_member.is_active) == ("admin", True)


def test_staff_add_edit_and_remove_their_own_numbers(staff_client, staff_member):
    add = reverse("families:staff_phone_add", args=[staff_member.pk])
    response = staff_client.post(
        add, {"label": "Cell", "number": "(202) 555-0144", "text_capable": "on"}
    )
    assert response.status_code == 302
    number = PhoneNumber.objects.get(staff_member=staff_member)
    assert (number.e164, number.label, number.text_capable) == ("+12025550144", "Cell", True)
    consent_record(phone_number=number, opted_in=True, source=Source.PORTAL)

    edit = reverse("families:staff_phone_edit", args=[staff_member.pk, number.pk])
    staff_client.post(edit, {"label": "Work", "number": "(202) 555-0145"})
    number.refresh_from_db()
    assert (number.e164, number.label, number.sms_opt_in) == ("+12025550145", "Work", False)

    remove = reverse("families:staff_phone_remove", args=[staff_member.pk, number.pk])
    assert staff_client.post(remove).status_code == 302
    assert not PhoneNumber.objects.filter(staff_member=staff_member).exists()
    assert ConsentEvent.objects.filter(phone_number__isnull=True).count() == 2


def test_a_bad_staff_number_is_shown_inline_and_changes_nothing(staff_client, staff_member):
    response = staff_client.post(
        reverse("families:staff_phone_add", args=[staff_member.pk]),
        {"label": "Cell", "number": "(555) 0100"},
    )
    assert response.status_code == 400
    assert "(555) 0100 is not a valid US number." in response.content.decode()
    assert not PhoneNumber.objects.exists()


def test_staff_cannot_change_another_staff_members_numbers_but_admins_can(
    staff_client, admin_client, org
):
    colleague = StaffMemberFactory(organization=org)
    number = staff_number(colleague)
    for name, args in (
        ("families:staff_phone_add", [colleague.pk]),
        ("families:staff_phone_edit", [colleague.pk, number.pk]),
        ("families:staff_phone_remove", [colleague.pk, number.pk]),
        ("families:phone_texts_on", [number.pk]),
        ("families:phone_text_capable", [number.pk]),
    ):
        data = {"number": "(202) 555-0150", "confirm": "on", "text_capable": "0"}
        assert staff_client.post(reverse(name, args=args), data).status_code == 403, name
    number.refresh_from_db()
    assert (number.sms_opt_in, number.text_capable) == (False, True)
    response = admin_client.post(
        reverse("families:phone_texts_on", args=[number.pk]), {"confirm": "on"}
    )
    assert response.status_code == 302
    number.refresh_from_db()
    assert number.sms_opt_in is True


def test_a_staff_number_follows_the_same_consent_rule_as_a_family_number(
    staff_client, staff_member
):
    number = staff_number(staff_member)
    response = staff_client.post(reverse("families:phone_texts_on", args=[number.pk]), {})
    assert response.status_code == 400
    assert (
        "Tick the box to confirm this customer gave consent to receive texts."
        in response.content.decode()
    )
    number.refresh_from_db()
    assert number.sms_opt_in is False


def test_every_staff_url_gives_404_for_another_organizations_ids(admin_client, other_org):
    member = StaffMemberFactory(organization=other_org)
    number = staff_number(member)
    for method, name, args in (
        ("get", "families:staff_detail", [member.pk]),
        ("get", "families:staff_edit", [member.pk]),
        ("post", "families:staff_edit", [member.pk]),
        ("post", "families:staff_phone_add", [member.pk]),
        ("post", "families:staff_phone_edit", [member.pk, number.pk]),
        ("post", "families:staff_phone_remove", [member.pk, number.pk]),
        ("post", "families:phone_texts_on", [number.pk]),
        ("post", "families:phone_texts_off", [number.pk]),
        ("post", "families:phone_text_capable", [number.pk]),
    ):
        data = new_member_data(number="(202) 555-0150", confirm="on", text_capable="0")
        response = getattr(admin_client, method)(reverse(name, args=args), data)
        assert response.status_code == 404, (method, name)
    member.refresh_from_db()
    assert member.first_name != "Maya"
    assert PhoneNumber.objects.filter(pk=number.pk, text_capable=True).exists()


def test_our_number_under_another_staff_member_gives_404(admin_client, org):
    ours = StaffMemberFactory(organization=org)
    number = staff_number(StaffMemberFactory(organization=org))
    url = reverse("families:staff_phone_remove", args=[ours.pk, number.pk])
    assert admin_client.post(url).status_code == 404
    assert PhoneNumber.objects.filter(pk=number.pk).exists()
