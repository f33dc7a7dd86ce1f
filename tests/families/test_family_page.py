import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from families.models import ConsentEvent, Family, Guardian, OptOut, PhoneNumber, Student
from families.selectors import family_detail_data
from families.services import consent_record, policy_publish
from tests.factories import (
    FamilyFactory,
    GuardianFactory,
    LocationFactory,
    PhoneFieldFactory,
    PhoneNumberFactory,
    ProgramFactory,
    StudentFactory,
)

pytestmark = pytest.mark.django_db
Source = ConsentEvent.Source


@pytest.fixture
def family(org):
    return FamilyFactory(organization=org, name="Rivera")


@pytest.fixture
def mother(org):
    return PhoneFieldFactory(organization=org, label="Mother cell", order=1, required=True)


@pytest.fixture
def emergency(org):
    return PhoneFieldFactory(organization=org, label="Emergency", order=2)


@pytest.fixture
def number(family, mother):
    return PhoneNumberFactory(family=family, field=mother, e164="+12025550101")


def page_url(family: Family) -> str:
    return reverse("families:family_detail", args=[family.pk])


def page_text(client, family: Family) -> str:
    response = client.get(page_url(family))
    assert response.status_code == 200
    return response.content.decode()


def test_the_family_page_shows_info_guardians_students_and_template_fields_in_order(
    staff_client, org, family, mother, emergency, number
):
    family.location = LocationFactory(organization=org, name="Northside")
    family.notes = "Prefers texts after 5pm"
    family.save()
    GuardianFactory(family=family, first_name="Ana", last_name="Rivera", email="ana@example.test")
    ten_years_ago = timezone.localdate().replace(year=timezone.localdate().year - 10)
    StudentFactory(
        family=family,
        first_name="Leo",
        birth_date=ten_years_ago - datetime.timedelta(days=1),
        program=ProgramFactory(organization=org, name="Swim Level 3"),
        level="Level 2",
    )
    content = page_text(staff_client, family)
    for expected in (
        "Rivera",
        "Northside",
        "Prefers texts after 5pm",
        "Ana Rivera",
        "ana@example.test",
        "Leo Student",
        "Swim Level 3",
        "Level 2",
        '<td data-label="Age">10</td>',
        "(202) 555-0101",
    ):
        assert expected in content
    assert content.index("Mother cell") < content.index("Emergency")
    assert 'Mother cell <span class="req">required</span>' in content


def test_a_required_field_without_a_number_is_flagged(staff_client, family, mother, emergency):
    content = page_text(staff_client, family)
    assert "Required but missing: Mother cell." in content


def test_staff_enter_a_number_which_is_stored_in_e164(staff_client, family, emergency):
    response = staff_client.post(
        reverse("families:family_phone_set", args=[family.pk, emergency.pk]),
        {"number": "202-555-0123"},
    )
    assert response.status_code == 302
    saved = PhoneNumber.objects.get(family=family, field=emergency)
    assert saved.e164 == "+12025550123"
    assert saved.sms_opt_in is False
    assert "(202) 555-0123" in page_text(staff_client, family)


def test_a_bad_number_is_shown_inline_with_a_clear_message_and_changes_nothing(
    staff_client, family, emergency
):
    response = staff_client.post(
        reverse("families:family_phone_set", args=[family.pk, emergency.pk]),
        {"number": "(555) 0100"},
    )
    assert response.status_code == 400
    assert "(555) 0100 is not a valid US number." in response.content.decode()
    assert not PhoneNumber.objects.exists()


def test_removing_a_required_number_is_refused_and_the_number_stays(
    staff_client, family, mother, number
):
    response = staff_client.post(
        reverse("families:family_phone_remove", args=[family.pk, mother.pk])
    )
    assert response.status_code == 400
    assert "Mother cell is required." in response.content.decode()
    assert PhoneNumber.objects.filter(pk=number.pk).exists()


def test_removing_an_opted_in_number_records_the_opt_out_and_keeps_the_history(
    staff_client, family, emergency
):
    number = PhoneNumberFactory(family=family, field=emergency)
    consent_record(phone_number=number, opted_in=True, source=Source.PORTAL)
    response = staff_client.post(
        reverse("families:family_phone_remove", args=[family.pk, emergency.pk])
    )
    assert response.status_code == 302
    assert not PhoneNumber.objects.filter(pk=number.pk).exists()
    last = ConsentEvent.objects.filter(e164=number.e164).order_by("-id").first()
    assert (last.opted_in, last.note) == (False, "number removed")


def test_turning_texts_on_needs_the_consent_checkbox_and_changes_nothing_without_it(
    staff_client, family, number
):
    response = staff_client.post(
        reverse("families:phone_texts_on", args=[number.pk]), {"note": "said yes on the phone"}
    )
    assert response.status_code == 400
    assert (
        "Tick the box to confirm this customer gave consent to receive texts."
        in response.content.decode()
    )
    number.refresh_from_db()
    assert number.sms_opt_in is False
    assert not ConsentEvent.objects.exists()


def test_turning_texts_on_with_consent_records_who_and_shows_the_badge(
    staff_client, staff_member, org, family, number
):
    policy = policy_publish(organization=org, text="We text about closures.", actor=None)
    response = staff_client.post(
        reverse("families:phone_texts_on", args=[number.pk]),
        {"confirm": "on", "note": "written consent on file"},
    )
    assert response.status_code == 302
    number.refresh_from_db()
    event = ConsentEvent.objects.get(phone_number=number)
    assert number.sms_opt_in is True
    assert (event.opted_in, event.source, event.actor, event.note, event.policy) == (
        True,
        Source.STAFF_WITH_CONSENT,
        staff_member.user,
        "written consent on file",
        policy,
    )
    day = timezone.localtime(event.created_at, ZoneInfo(org.time_zone))
    badge = f"Texts: on — consent by staff (written consent on file), {day.day} {day:%b %Y}"
    assert badge in page_text(staff_client, family)


def test_turning_texts_off_is_recorded_with_source_staff(staff_client, family, number):
    consent_record(phone_number=number, opted_in=True, source=Source.PORTAL)
    response = staff_client.post(reverse("families:phone_texts_off", args=[number.pk]))
    assert response.status_code == 302
    number.refresh_from_db()
    last = ConsentEvent.objects.filter(phone_number=number).order_by("-id").first()
    assert number.sms_opt_in is False
    assert (last.opted_in, last.source) == (False, Source.STAFF)
    assert "Texts: off" in page_text(staff_client, family)


def test_marking_a_number_not_text_capable_turns_its_texts_off_with_evidence(
    staff_client, family, number
):
    consent_record(phone_number=number, opted_in=True, source=Source.PORTAL)
    response = staff_client.post(
        reverse("families:phone_text_capable", args=[number.pk]), {"text_capable": "0"}
    )
    assert response.status_code == 302
    number.refresh_from_db()
    last = ConsentEvent.objects.filter(phone_number=number).order_by("-id").first()
    assert (number.text_capable, number.sms_opt_in) == (False, False)
    assert (last.opted_in, last.note) == (False, "marked not text-capable")
    content = page_text(staff_client, family)
    assert "Cannot receive texts" in content
    assert reverse("families:phone_texts_on", args=[number.pk]) not in content


def test_the_text_capable_toggle_refuses_an_unclear_value(staff_client, number):
    response = staff_client.post(
        reverse("families:phone_text_capable", args=[number.pk]), {"text_capable": "maybe"}
    )
    assert response.status_code == 400
    number.refresh_from_db()
    assert number.text_capable is True


def test_a_number_that_replied_stop_is_shown_unsubscribed_and_staff_cannot_turn_it_on(
    staff_client, org, family, number
):
    OptOut.objects.create(organization=org, e164=number.e164)
    content = page_text(staff_client, family)
    assert "Unsubscribed by text reply (STOP)" in content
    assert reverse("families:phone_texts_on", args=[number.pk]) not in content
    response = staff_client.post(
        reverse("families:phone_texts_on", args=[number.pk]), {"confirm": "on"}
    )
    assert response.status_code == 400
    assert "replying START" in response.content.decode()
    number.refresh_from_db()
    assert number.sms_opt_in is False
    assert not ConsentEvent.objects.exists()


def test_the_consent_history_lists_each_event_of_the_number(
    staff_client, admin_member, org, family, number
):
    policy_publish(organization=org, text="We text about closures.", actor=None)
    consent_record(phone_number=number, opted_in=True, source=Source.PORTAL, actor=None)
    consent_record(
        phone_number=number,
        opted_in=False,
        source=Source.STAFF,
        actor=admin_member.user,
        note="asked us by email",
    )
    content = page_text(staff_client, family)
    assert "Consent history (2)" in content
    for expected in (
        "Opted in",
        "Opted out",
        "Parent portal",
        f"{admin_member.full_name} (admin)",
        "Version 1",
        "asked us by email",
    ):
        assert expected in content


def test_the_family_page_reads_in_a_fixed_number_of_queries(org):
    def queries_for(numbers: int) -> int:
        family = FamilyFactory(organization=org)
        GuardianFactory(family=family)
        StudentFactory(family=family, program=ProgramFactory(organization=org))
        for _ in range(numbers):
            number = PhoneNumberFactory(family=family)
            consent_record(phone_number=number, opted_in=True, source=Source.PORTAL)
            consent_record(phone_number=number, opted_in=False, source=Source.STAFF)
        family = Family.objects.select_related("organization").get(pk=family.pk)
        with CaptureQueriesContext(connection) as queries:
            page = family_detail_data(family=family)
            [(row.number and row.number.events) for row in page.rows]
        return len(queries)

    assert queries_for(1) == queries_for(5)


def test_creating_a_family_saves_its_template_numbers(staff_client, org, mother, emergency):
    response = staff_client.post(
        reverse("families:family_create"),
        {
            "name": "Nguyen",
            "status": "active",
            "notes": "",
            f"phone_{mother.pk}": "(202) 555-0111",
            f"phone_{emergency.pk}": "",
        },
    )
    family = Family.objects.get(organization=org, name="Nguyen")
    assert response.status_code == 302
    assert response["Location"] == page_url(family)
    assert list(PhoneNumber.objects.filter(family=family).values_list("field", "e164")) == [
        (mother.pk, "+12025550111")
    ]


@pytest.mark.parametrize(
    ("mother_number", "message"),
    [("", "Mother cell is required."), ("(555) 0100", "(555) 0100 is not a valid US number.")],
)
def test_creating_a_family_with_a_missing_or_bad_number_creates_nothing(
    staff_client, mother, mother_number, message
):
    response = staff_client.post(
        reverse("families:family_create"),
        {"name": "Nguyen", "status": "active", f"phone_{mother.pk}": mother_number},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Family.objects.exists()


def test_editing_the_family_saves_its_details(staff_client, org, family):
    location = LocationFactory(organization=org, name="Downtown")
    response = staff_client.post(
        reverse("families:family_edit", args=[family.pk]),
        {"name": "Rivera-Lopez", "status": "inactive", "location": location.pk, "notes": "x"},
    )
    assert response.status_code == 302
    family.refresh_from_db()
    assert (family.name, family.status, family.location, family.notes) == (
        "Rivera-Lopez",
        "inactive",
        location,
        "x",
    )


def test_a_location_of_another_organization_cannot_be_chosen(staff_client, other_org, family):
    theirs = LocationFactory(organization=other_org)
    response = staff_client.post(
        reverse("families:family_edit", args=[family.pk]),
        {"name": "Rivera", "status": "active", "location": theirs.pk},
    )
    assert response.status_code == 400
    family.refresh_from_db()
    assert family.location is None


def test_guardians_are_added_edited_and_removed(staff_client, family):
    response = staff_client.post(
        reverse("families:guardian_add", args=[family.pk]),
        {"first_name": "Ana", "last_name": "Rivera", "email": "ana@example.test"},
    )
    assert response.status_code == 302
    guardian = Guardian.objects.get(family=family)
    assert guardian.organization_id == family.organization_id
    staff_client.post(
        reverse("families:guardian_edit", args=[family.pk, guardian.pk]),
        {"first_name": "Ana María", "last_name": "Rivera", "email": "ana@example.test"},
    )
    guardian.refresh_from_db()
    assert guardian.first_name == "Ana María"
    confirm = staff_client.get(reverse("families:guardian_remove", args=[family.pk, guardian.pk]))
    assert "Remove Ana María Rivera?" in confirm.content.decode()
    staff_client.post(reverse("families:guardian_remove", args=[family.pk, guardian.pk]))
    assert not Guardian.objects.exists()


def test_a_guardian_without_a_first_name_is_refused_inline(staff_client, family):
    response = staff_client.post(
        reverse("families:guardian_add", args=[family.pk]), {"email": "not-an-email"}
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert "Enter a valid email address." in response.content.decode()
    assert not Guardian.objects.exists()


def test_students_are_added_edited_and_removed(staff_client, org, family):
    program = ProgramFactory(organization=org, name="Tumbling")
    response = staff_client.post(
        reverse("families:student_add", args=[family.pk]),
        {
            "first_name": "Leo",
            "last_name": "Rivera",
            "birth_date": "2016-04-01",
            "program": program.pk,
            "level": "Level 2",
            "status": "waitlist",
        },
    )
    assert response.status_code == 302
    student = Student.objects.get(family=family)
    assert (student.program, student.level, student.status) == (program, "Level 2", "waitlist")
    staff_client.post(
        reverse("families:student_edit", args=[family.pk, student.pk]),
        {"first_name": "Leo", "last_name": "Rivera", "level": "Level 3", "status": "active"},
    )
    student.refresh_from_db()
    assert (student.program, student.level, student.status) == (None, "Level 3", "active")
    staff_client.post(reverse("families:student_remove", args=[family.pk, student.pk]))
    assert not Student.objects.exists()


def test_a_program_of_another_organization_cannot_be_chosen(staff_client, other_org, family):
    response = staff_client.post(
        reverse("families:student_add", args=[family.pk]),
        {
            "first_name": "Leo",
            "status": "active",
            "program": ProgramFactory(organization=other_org).pk,
        },
    )
    assert response.status_code == 400
    assert not Student.objects.exists()


def test_the_guardian_portal_spot_is_rendered_for_each_guardian(staff_client, family):
    GuardianFactory(family=family)
    response = staff_client.get(page_url(family))
    assert "families/_guardian_portal.html" in [t.name for t in response.templates]


def family_urls(family, field, guardian, student, number) -> list[tuple[str, str, str]]:
    return [
        ("get", "families:family_detail", [family.pk]),
        ("get", "families:family_edit", [family.pk]),
        ("post", "families:family_edit", [family.pk]),
        ("post", "families:family_phone_set", [family.pk, field.pk]),
        ("post", "families:family_phone_remove", [family.pk, field.pk]),
        ("get", "families:guardian_add", [family.pk]),
        ("post", "families:guardian_add", [family.pk]),
        ("get", "families:guardian_edit", [family.pk, guardian.pk]),
        ("post", "families:guardian_edit", [family.pk, guardian.pk]),
        ("post", "families:guardian_remove", [family.pk, guardian.pk]),
        ("get", "families:student_add", [family.pk]),
        ("get", "families:student_edit", [family.pk, student.pk]),
        ("post", "families:student_remove", [family.pk, student.pk]),
        ("post", "families:phone_text_capable", [number.pk]),
        ("post", "families:phone_texts_on", [number.pk]),
        ("post", "families:phone_texts_off", [number.pk]),
    ]


def test_every_family_url_gives_404_for_another_organizations_ids(staff_client, other_org):
    family = FamilyFactory(organization=other_org)
    field = PhoneFieldFactory(organization=other_org)
    number = PhoneNumberFactory(family=family, field=field)
    consent_record(phone_number=number, opted_in=True, source=Source.PORTAL)
    guardian = GuardianFactory(family=family)
    student = StudentFactory(family=family)
    data = {"number": "", "confirm": "on", "text_capable": "0", "name": "x", "status": "active"}
    for method, name, args in family_urls(family, field, guardian, student, number):
        response = getattr(staff_client, method)(reverse(name, args=args), data)
        assert response.status_code == 404, (method, name)
    number.refresh_from_db()
    assert (number.sms_opt_in, number.text_capable) == (True, True)
    assert Guardian.objects.filter(pk=guardian.pk).exists()
    assert Student.objects.filter(pk=student.pk).exists()


def test_our_field_on_their_family_and_their_guardian_on_our_family_give_404(
    staff_client, org, other_org, family, emergency
):
    theirs = FamilyFactory(organization=other_org)
    their_guardian = GuardianFactory(family=theirs)
    their_field = PhoneFieldFactory(organization=other_org)
    for name, args in (
        ("families:family_phone_set", [theirs.pk, emergency.pk]),
        ("families:family_phone_set", [family.pk, their_field.pk]),
        ("families:guardian_edit", [family.pk, their_guardian.pk]),
    ):
        response = staff_client.post(reverse(name, args=args), {"number": "202-555-0123"})
        assert response.status_code == 404, name
    assert not PhoneNumber.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(client, family):
    response = client.get(page_url(family))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
