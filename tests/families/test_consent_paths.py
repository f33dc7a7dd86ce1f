"""Nothing turns texts on without the owner's recorded consent: every path that can set a
number's ``sms_opt_in`` is tried here, and a stray YES (or START) is not consent."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from broadcasts.models import InboundMessage
from broadcasts.sms.replies import inbound_sms_handle, keyword_opt_in, keyword_opt_out
from families.models import ConsentEvent, Family, OptOut, PhoneNumber
from families.services import (
    consent_record,
    family_phone_set,
    phone_text_capable_set,
    staff_phone_update,
)
from tests.broadcasts.sms_helpers import family_with_number
from tests.factories import (
    PhoneNumberFactory,
    SendingNumberFactory,
    StaffMemberFactory,
)

pytestmark = pytest.mark.django_db
SENDING = "+14155550100"
Source = ConsentEvent.Source


@pytest.fixture
def sending(org):
    return SendingNumberFactory(organization=org, e164=SENDING)


def number_of(family) -> PhoneNumber:
    return family.phone_numbers.get()


def reply(e164: str, body: str) -> str | None:
    return inbound_sms_handle(to_e164=SENDING, from_e164=e164, body=body)


@pytest.mark.parametrize("word", ["YES", "yes", "START", "Unstop"])
def test_a_stray_yes_from_a_number_that_never_opted_in_changes_nothing(org, sending, word):
    family = family_with_number(org, opted_in=False)
    number = number_of(family)
    answer = reply(number.e164, word)
    number.refresh_from_db()
    assert number.sms_opt_in is False
    assert not ConsentEvent.objects.filter(e164=number.e164).exists()
    assert "subscribed" not in answer
    assert "parent portal" in answer and org.name in answer
    logged = InboundMessage.objects.get(from_e164=number.e164)
    assert (logged.body, logged.keyword) == (word, "start")


def test_a_yes_from_a_number_nobody_has_on_file_records_no_consent(org, sending):
    answer = reply("+13125550199", "YES")
    assert "parent portal" in answer
    assert not ConsentEvent.objects.exists() and not OptOut.objects.exists()


def test_start_after_stop_turns_back_on_what_the_stop_turned_off(org, sending):
    family = family_with_number(org)
    number = number_of(family)
    reply(number.e164, "STOP")
    answer = reply(number.e164, "START")
    number.refresh_from_db()
    assert number.sms_opt_in is True and "subscribed" in answer
    assert not OptOut.objects.exists()


def test_start_does_not_turn_on_a_second_owner_of_the_digits_who_never_opted_in(org, sending):
    family = family_with_number(org)
    number = number_of(family)
    coach = StaffMemberFactory(organization=org)
    second = PhoneNumberFactory(
        staff_member=coach, family=None, field=None, organization=org, e164=number.e164
    )
    reply(number.e164, "STOP")
    reply(number.e164, "START")
    number.refresh_from_db()
    second.refresh_from_db()
    assert number.sms_opt_in is True
    assert second.sms_opt_in is False
    assert not ConsentEvent.objects.filter(phone_number=second).exists()


def test_start_after_a_stop_from_a_number_that_never_opted_in_only_lifts_the_stop(org, sending):
    family = family_with_number(org, opted_in=False)
    number = number_of(family)
    reply(number.e164, "STOP")
    answer = reply(number.e164, "START")
    number.refresh_from_db()
    assert number.sms_opt_in is False
    assert not OptOut.objects.exists()
    assert "STOP is lifted" in answer and "parent portal" in answer


def test_keyword_opt_in_without_a_stop_on_file_changes_nothing(org):
    number = number_of(family_with_number(org, opted_in=False))
    assert keyword_opt_in(organization=org, e164=number.e164, word="YES") == 0
    number.refresh_from_db()
    assert number.sms_opt_in is False and not ConsentEvent.objects.exists()


def test_consent_record_refuses_a_keyword_opt_in_without_a_stop_on_file(org):
    number = number_of(family_with_number(org, opted_in=False))
    with pytest.raises(ValidationError, match="only undoes a STOP"):
        consent_record(phone_number=number, opted_in=True, source=Source.KEYWORD)
    number.refresh_from_db()
    assert number.sms_opt_in is False and not ConsentEvent.objects.exists()


def test_a_stop_at_another_organization_does_not_let_a_yes_opt_in_here(org, other_org, sending):
    number = number_of(family_with_number(org, opted_in=False))
    keyword_opt_out(organization=other_org, e164=number.e164, word="STOP")
    reply(number.e164, "YES")
    number.refresh_from_db()
    assert number.sms_opt_in is False


def test_the_outbox_reply_of_a_stray_yes_says_how_to_opt_in(org, sending, staff_client, settings):
    from broadcasts.models import OutboxMessage

    settings.SMS_BACKEND = "outbox"
    number = number_of(family_with_number(org, opted_in=False))
    OutboxMessage.objects.create(sid="SMx", from_e164=SENDING, to_e164=number.e164, body="Hi")
    staff_client.post(reverse("broadcasts:outbox_reply"), {"from": number.e164, "body": "yes"})
    number.refresh_from_db()
    assert number.sms_opt_in is False
    answer = OutboxMessage.objects.filter(to_e164=number.e164).exclude(sid="SMx").get()
    assert "parent portal" in answer.body


# --- the other paths: staff pages, portal edits, the API ---


def test_marking_a_number_text_capable_again_does_not_turn_texts_on(org, staff_member):
    number = number_of(family_with_number(org))
    phone_text_capable_set(phone_number=number, text_capable=False, actor=staff_member.user)
    phone_text_capable_set(phone_number=number, text_capable=True, actor=staff_member.user)
    number.refresh_from_db()
    assert number.text_capable is True and number.sms_opt_in is False


def test_new_digits_in_a_family_field_start_with_texts_off(org, staff_member):
    family = family_with_number(org)
    number = number_of(family)
    changed = family_phone_set(
        family=family,
        field=number.field,
        raw="(202) 555-0177",
        text_capable=True,
        actor=staff_member.user,
    )
    assert changed.sms_opt_in is False
    back = family_phone_set(
        family=family,
        field=number.field,
        raw=number.e164,
        text_capable=True,
        actor=staff_member.user,
    )
    assert back.sms_opt_in is False  # the old digits' consent ended when they were replaced


def test_new_digits_on_a_staff_number_start_with_texts_off(org, staff_member):
    coach = StaffMemberFactory(organization=org)
    number = PhoneNumberFactory(staff_member=coach, family=None, field=None, organization=org)
    consent_record(phone_number=number, opted_in=True, source=Source.STAFF_WITH_CONSENT)
    changed = staff_phone_update(
        phone_number=number, raw="(202) 555-0178", label="cell", actor=staff_member.user
    )
    assert changed.sms_opt_in is False


def test_the_staff_page_turns_texts_on_only_with_the_consent_box(org, staff_client):
    number = number_of(family_with_number(org, opted_in=False))
    staff_client.post(reverse("families:phone_texts_on", args=[number.pk]), {"note": "asked"})
    number.refresh_from_db()
    assert number.sms_opt_in is False and not ConsentEvent.objects.exists()


def test_the_api_cannot_write_a_number_or_its_consent(org, staff_client):
    """The lists take no opt-in: a write is not allowed (405) or refused as a bad body (400),
    never applied. (The write API turns texts on only with a consent basis: test_api_write.)"""
    family = family_with_number(org, opted_in=False)
    for name in ("family_list", "student_list", "staff_list"):
        url = reverse(f"families_api:{name}")
        for write in (staff_client.post, staff_client.put, staff_client.patch):
            response = write(url, {"sms_opt_in": True}, content_type="application/json")
            assert response.status_code in (400, 405), (name, response.status_code)
    assert number_of(family).sms_opt_in is False
    assert not ConsentEvent.objects.exists()
    assert Family.objects.for_org(org).count() == 1


def test_every_opted_in_number_has_an_opt_in_event_from_a_consenting_source(org, sending):
    family_with_number(org)
    quiet = family_with_number(org, opted_in=False)
    stopped = family_with_number(org)
    reply(number_of(stopped).e164, "STOP")
    reply(number_of(stopped).e164, "START")
    reply(number_of(quiet).e164, "YES")
    for number in PhoneNumber.objects.for_org(org).filter(sms_opt_in=True):
        last = ConsentEvent.objects.filter(phone_number=number).order_by("-id").first()
        assert last is not None and last.opted_in
        assert last.source in (Source.PORTAL, Source.STAFF_WITH_CONSENT, Source.KEYWORD)
        if last.source == Source.KEYWORD:  # a START: only after its own earlier opt-in
            earlier = ConsentEvent.objects.filter(phone_number=number, opted_in=True)
            assert earlier.exclude(source=Source.KEYWORD).exists()
