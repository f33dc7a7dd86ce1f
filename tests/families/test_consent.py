import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.utils import DatabaseError

from families.models import ConsentEvent, OptOut, PhoneNumber
from families.services import (
    consent_record,
    family_phone_set,
    phone_text_capable_set,
    phone_texts_set_by_staff,
    policy_publish,
)
from tests.factories import FamilyFactory, PhoneFieldFactory, PhoneNumberFactory, UserFactory

pytestmark = pytest.mark.django_db
Source = ConsentEvent.Source


def latest_event(number: PhoneNumber) -> ConsentEvent | None:
    return ConsentEvent.objects.filter(phone_number=number).order_by("-id").first()


def assert_state_agrees_with_events(number: PhoneNumber) -> None:
    number.refresh_from_db()
    event = latest_event(number)
    assert number.sms_opt_in == (event.opted_in if event else False)


def test_staff_opt_in_with_consent_records_who_and_which_policy(org):
    policy = policy_publish(organization=org, text="We text about closures.", actor=None)
    number = PhoneNumberFactory(family=FamilyFactory(organization=org))
    user = UserFactory()
    event = consent_record(
        phone_number=number,
        opted_in=True,
        source=Source.STAFF_WITH_CONSENT,
        actor=user,
        note="written consent on file",
    )
    number.refresh_from_db()
    assert number.sms_opt_in is True
    assert (event.actor, event.policy, event.note, event.e164) == (
        user,
        policy,
        "written consent on file",
        number.e164,
    )


def test_staff_cannot_opt_in_without_confirming_consent(org):
    number = PhoneNumberFactory(family=FamilyFactory(organization=org))
    with pytest.raises(ValidationError, match="consent"):
        consent_record(phone_number=number, opted_in=True, source=Source.STAFF, actor=None)
    assert not ConsentEvent.objects.exists()
    assert_state_agrees_with_events(number)


def test_a_number_that_cannot_text_cannot_opt_in(org):
    number = PhoneNumberFactory(family=FamilyFactory(organization=org), text_capable=False)
    with pytest.raises(ValidationError, match="text-capable"):
        consent_record(phone_number=number, opted_in=True, source=Source.PORTAL)
    assert not ConsentEvent.objects.exists()


def test_new_digits_clear_the_opt_in_with_evidence(org):
    family = FamilyFactory(organization=org)
    field = PhoneFieldFactory(organization=org)
    number = family_phone_set(
        family=family, field=field, raw="(202) 555-0101", text_capable=True, actor=None
    )
    consent_record(phone_number=number, opted_in=True, source=Source.PORTAL)
    family_phone_set(
        family=family, field=field, raw="(202) 555-0102", text_capable=True, actor=None
    )
    number.refresh_from_db()
    assert number.e164 == "+12025550102"
    assert number.sms_opt_in is False
    assert latest_event(number).e164 == "+12025550101"
    assert_state_agrees_with_events(number)


def test_a_bad_number_is_refused_with_a_clear_message(org):
    family = FamilyFactory(organization=org)
    field = PhoneFieldFactory(organization=org)
    with pytest.raises(ValidationError) as caught:
        family_phone_set(
            family=family, field=field, raw="(555) 0100", text_capable=True, actor=None
        )
    assert caught.value.messages == ["(555) 0100 is not a valid US number."]
    assert not PhoneNumber.objects.exists()


def test_consent_events_cannot_be_edited_or_deleted(org):
    number = PhoneNumberFactory(family=FamilyFactory(organization=org))
    event = consent_record(phone_number=number, opted_in=False, source=Source.STAFF)
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        ConsentEvent.objects.filter(pk=event.pk).update(note="changed")
    with pytest.raises(PermissionError):
        ConsentEvent.objects.all().delete()


def test_the_database_refuses_raw_edits_of_consent_events(org):
    number = PhoneNumberFactory(family=FamilyFactory(organization=org))
    event = consent_record(phone_number=number, opted_in=False, source=Source.STAFF)
    for sql in (
        "UPDATE families_consentevent SET opted_in = true WHERE id = %s",
        "DELETE FROM families_consentevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])


def test_deleting_a_number_keeps_its_consent_history(org):
    number = PhoneNumberFactory(family=FamilyFactory(organization=org))
    consent_record(phone_number=number, opted_in=True, source=Source.PORTAL)
    e164 = number.e164
    number.delete()
    assert ConsentEvent.objects.get(e164=e164).phone_number is None


def test_editing_the_policy_publishes_a_new_version(org):
    first = policy_publish(organization=org, text="Version one", actor=None)
    second = policy_publish(organization=org, text="Version two", actor=None)
    same = policy_publish(organization=org, text="Version two", actor=None)
    assert (first.version, second.version, same.pk) == (1, 2, second.pk)


def test_a_number_that_replied_stop_can_only_opt_back_in_by_keyword(org):
    number = PhoneNumberFactory(family=FamilyFactory(organization=org))
    OptOut.objects.create(organization=org, e164=number.e164)
    for source in (Source.STAFF_WITH_CONSENT, Source.PORTAL, Source.IMPORT):
        with pytest.raises(ValidationError, match="replying START"):
            consent_record(phone_number=number, opted_in=True, source=source)
    assert not ConsentEvent.objects.exists()
    assert_state_agrees_with_events(number)
    consent_record(phone_number=number, opted_in=True, source=Source.KEYWORD)
    assert_state_agrees_with_events(number)
    assert number.sms_opt_in is True


def test_a_stop_at_another_organization_does_not_block_this_one(org, other_org):
    number = PhoneNumberFactory(family=FamilyFactory(organization=org))
    OptOut.objects.create(organization=other_org, e164=number.e164)
    consent_record(phone_number=number, opted_in=True, source=Source.PORTAL)
    assert_state_agrees_with_events(number)
    assert number.sms_opt_in is True


def test_staff_turn_texts_on_only_with_the_consent_confirmation(org):
    number = PhoneNumberFactory(family=FamilyFactory(organization=org))
    user = UserFactory()
    with pytest.raises(ValidationError, match="Tick the box"):
        phone_texts_set_by_staff(phone_number=number, on=True, actor=user)
    assert not ConsentEvent.objects.exists()
    event = phone_texts_set_by_staff(
        phone_number=number, on=True, consent_confirmed=True, note=" verbal, 3 Nov ", actor=user
    )
    assert (event.source, event.note, event.actor) == (
        Source.STAFF_WITH_CONSENT,
        "verbal, 3 Nov",
        user,
    )
    assert (
        phone_texts_set_by_staff(phone_number=number, on=True, consent_confirmed=True, actor=user)
        is None
    )
    off = phone_texts_set_by_staff(phone_number=number, on=False, actor=user)
    assert (off.opted_in, off.source) == (False, Source.STAFF)
    assert ConsentEvent.objects.count() == 2
    assert_state_agrees_with_events(number)


def test_state_and_events_agree_through_every_kind_of_change(org):
    family = FamilyFactory(organization=org)
    field = PhoneFieldFactory(organization=org)
    number = family_phone_set(
        family=family, field=field, raw="(202) 555-0131", text_capable=True, actor=None
    )
    steps = [
        lambda: consent_record(phone_number=number, opted_in=True, source=Source.PORTAL),
        lambda: phone_text_capable_set(phone_number=number, text_capable=False, actor=None),
        lambda: phone_text_capable_set(phone_number=number, text_capable=True, actor=None),
        lambda: phone_texts_set_by_staff(
            phone_number=number, on=True, consent_confirmed=True, actor=None
        ),
        lambda: family_phone_set(
            family=family, field=field, raw="(202) 555-0132", text_capable=None, actor=None
        ),
        lambda: consent_record(phone_number=number, opted_in=True, source=Source.IMPORT),
        lambda: consent_record(phone_number=number, opted_in=False, source=Source.KEYWORD),
    ]
    for step in steps:
        step()
        assert_state_agrees_with_events(number)
    sources = list(
        ConsentEvent.objects.filter(phone_number=number)
        .order_by("id")
        .values_list("opted_in", "note")
    )
    assert sources == [
        (True, ""),
        (False, "marked not text-capable"),
        (True, ""),
        (False, "number changed to +12025550132"),
        (True, ""),
        (False, ""),
    ]
