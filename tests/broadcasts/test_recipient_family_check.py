"""A recipient's family, checked by the database once per statement (migration broadcasts 0012):
it must exist and be the recipient's organization's, whatever writes the row (Django, the
COPY of a large broadcast, raw SQL); a family named by recipients cannot be deleted under
them, even by a transaction racing a broadcast being written; deleting through Django still
detaches the recipients."""

import threading
import time

import pytest
from django.db import IntegrityError, close_old_connections, connection, transaction

from broadcasts.models import Broadcast, Recipient
from broadcasts.recipients import BroadcastRefused, recipients_insert
from broadcasts.selectors import PlannedRecipient
from broadcasts.sms import compose
from credits.selectors import credits_balance
from credits.services import credits_adjust
from families.models import Family
from families.selection import Selection
from tests.broadcasts.recipient_helpers import broadcast_of, recipient_of
from tests.factories import FamilyFactory, PhoneNumberFactory, SendingNumberFactory

REFUSED = "not its organization's"


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the family check is PostgreSQL's (triggers)")


def dangling() -> int:
    """Recipients naming a family that does not exist or is another organization's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM broadcasts_recipient r LEFT JOIN families_family f"
            " ON f.id = r.family_id AND f.organization_id = r.organization_id"
            " WHERE r.family_id IS NOT NULL AND f.id IS NULL"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_recipient_naming_another_organizations_family_is_refused(postgresql, org, other_org):
    broadcast = broadcast_of(org)
    theirs = FamilyFactory(organization=other_org)
    with pytest.raises(IntegrityError, match=REFUSED), transaction.atomic():
        recipient_of(broadcast, family=theirs)
    assert not Recipient.objects.exists()


@pytest.mark.django_db
def test_a_recipient_naming_a_family_that_does_not_exist_is_refused(postgresql, org):
    broadcast = broadcast_of(org)
    gone = FamilyFactory(organization=org)
    gone_id = gone.pk
    gone.delete()
    with pytest.raises(IntegrityError, match=REFUSED), transaction.atomic():
        recipient_of(broadcast, family_id=gone_id)
    assert not Recipient.objects.exists()


@pytest.mark.django_db
def test_the_copy_of_a_large_broadcast_is_checked_as_a_whole(postgresql, org, other_org):
    """One row of thousands naming another organization's family refuses the whole write."""
    broadcast = broadcast_of(org)
    ours = [FamilyFactory(organization=org) for _ in range(3)]
    theirs = FamilyFactory(organization=other_org)
    planned = [
        PlannedRecipient(e164=f"+1201555{i:04d}", owner_label="x", family_id=ours[i % 3].pk)
        for i in range(3000)
    ]
    planned[2345].family_id = theirs.pk
    columns = {"texts": ["Hi"] * 3000, "parts": [1] * 3000, "credits": [1] * 3000}
    with pytest.raises(IntegrityError, match=REFUSED), transaction.atomic():
        recipients_insert(broadcast=broadcast, recipients=planned, excluded=[], **columns)
    assert not Recipient.objects.exists()
    planned[2345].family_id = ours[0].pk
    with transaction.atomic():
        assert recipients_insert(broadcast=broadcast, recipients=planned, excluded=[], **columns)
    assert broadcast.recipients.count() == 3000


@pytest.mark.django_db
def test_moving_a_recipient_to_another_organizations_family_is_refused(postgresql, org, other_org):
    family = FamilyFactory(organization=org)
    recipient = recipient_of(broadcast_of(org), family=family)
    theirs = FamilyFactory(organization=other_org)
    with pytest.raises(IntegrityError, match=REFUSED), transaction.atomic():
        Recipient.objects.filter(pk=recipient.pk).update(family=theirs)
    with pytest.raises(IntegrityError, match=REFUSED), transaction.atomic():
        Recipient.objects.filter(pk=recipient.pk).update(organization=other_org)
    Recipient.objects.filter(pk=recipient.pk).update(family=None)  # detaching is fine
    recipient.refresh_from_db()
    assert recipient.family_id is None


@pytest.mark.django_db
def test_deleting_a_family_through_django_keeps_its_recipients_without_it(org):
    family = FamilyFactory(organization=org)
    kept = FamilyFactory(organization=org)
    broadcast = broadcast_of(org)
    detached = recipient_of(broadcast, family=family)
    other = recipient_of(broadcast, family=kept, e164="+12015550124")
    family.delete()
    detached.refresh_from_db()
    other.refresh_from_db()
    assert (detached.family_id, other.family_id) == (None, kept.pk)
    assert dangling() == 0


@pytest.mark.django_db
def test_deleting_a_family_that_recipients_still_name_is_refused(postgresql, org):
    family = FamilyFactory(organization=org)
    recipient_of(broadcast_of(org), family=family)
    with (
        pytest.raises(IntegrityError, match="still name"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM families_family WHERE id = %s", [family.pk])
    assert Family.objects.filter(pk=family.pk).exists()
    with pytest.raises(IntegrityError, match="cannot change"), transaction.atomic():
        Family.objects.filter(pk=family.pk).update(id=family.pk + 1000)


def _in_thread(work, results: list, key: str) -> threading.Thread:
    def run():
        try:
            results.append((key, work()))
        except Exception as error:  # the test reads what each side met
            results.append((key, error))
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_family_deleted_while_a_broadcast_is_written_waits_and_is_refused(postgresql, org):
    """The broadcast's transaction has written a recipient naming the family and not yet
    committed; a delete of the family (through Django, which detaches only the committed
    recipients it sees) waits for it, then is refused: nobody is left naming no family."""
    family = FamilyFactory(organization=org)
    broadcast = broadcast_of(org)
    written, results = threading.Event(), []

    def write():
        with transaction.atomic():
            recipient_of(broadcast, family=family)
            written.set()
            time.sleep(1.0)  # the delete starts meanwhile and must wait
        return "committed"

    def delete():
        written.wait(5)
        Family.objects.get(pk=family.pk).delete()
        return "deleted"

    threads = [_in_thread(write, results, "write"), _in_thread(delete, results, "delete")]
    for thread in threads:
        thread.join(20)
    outcome = dict(results)
    assert outcome["write"] == "committed"
    assert isinstance(outcome["delete"], IntegrityError), outcome
    assert Family.objects.filter(pk=family.pk).exists()
    assert broadcast.recipients.get().family_id == family.pk
    assert dangling() == 0


@pytest.mark.django_db(transaction=True)
def test_a_broadcast_written_while_its_family_is_deleted_waits_and_is_refused(postgresql, org):
    """The other order: the family's delete has run and not yet committed; the broadcast's
    recipient waits for it, then is refused, instead of naming a family that is gone."""
    family = FamilyFactory(organization=org)
    broadcast = broadcast_of(org)
    deleted, results = threading.Event(), []

    def delete():
        with transaction.atomic():
            Family.objects.get(pk=family.pk).delete()
            deleted.set()
            time.sleep(1.0)
        return "deleted"

    def write():
        deleted.wait(5)
        with transaction.atomic():
            recipient_of(broadcast, family=family)
        return "committed"

    threads = [_in_thread(delete, results, "delete"), _in_thread(write, results, "write")]
    for thread in threads:
        thread.join(20)
    outcome = dict(results)
    assert outcome["delete"] == "deleted"
    assert isinstance(outcome["write"], IntegrityError), outcome
    assert not Recipient.objects.exists()
    assert dangling() == 0


def deleted_behind_the_plan(family) -> None:
    """The family and its numbers deleted as another session would (nothing detached)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM families_phonenumber WHERE family_id = %s", [family.pk])
        cursor.execute("DELETE FROM families_family WHERE id = %s", [family.pk])


@pytest.mark.django_db
def test_a_broadcast_whose_family_vanishes_before_it_is_written_is_refused_cleanly(
    postgresql, org, staff_member, monkeypatch
):
    """Planned, then the family is deleted before the recipients are written: the create is
    refused with a message, and nothing is written or charged."""
    SendingNumberFactory(organization=org, status="active")
    family = FamilyFactory(organization=org)
    PhoneNumberFactory(family=family, sms_opt_in=True)
    credits_adjust(organization=org, credits=10, memo="test")
    planned = compose._draft

    def draft_then_delete(**kwargs):
        draft = planned(**kwargs)
        deleted_behind_the_plan(family)
        return draft

    monkeypatch.setattr(compose, "_draft", draft_then_delete)
    with pytest.raises(BroadcastRefused, match="changed or deleted while"):
        compose.broadcast_create(
            organization=org,
            sender=staff_member,
            selection=Selection(kind="families", filter_query=""),
            text="Closed today",
        )
    assert not Broadcast.objects.exists()
    assert credits_balance(organization=org) == 10


@pytest.mark.django_db
def test_a_voice_broadcast_whose_family_vanishes_before_it_is_written_is_refused_cleanly(
    postgresql, org, staff_member, monkeypatch
):
    from broadcasts.voice import recording
    from tests.broadcasts.sms_helpers import sender_ready

    sender_ready(org, credits=10)
    family = FamilyFactory(organization=org)
    PhoneNumberFactory(family=family)  # voice needs no opt-in
    planned = recording.recipients_plan

    def plan_then_delete(**kwargs):
        plan = planned(**kwargs)
        deleted_behind_the_plan(family)
        return plan

    monkeypatch.setattr(recording, "recipients_plan", plan_then_delete)
    with pytest.raises(BroadcastRefused, match="changed or deleted while"):
        recording.tts_broadcast_create(
            organization=org,
            sender=staff_member,
            selection=Selection(kind="families", filter_query=""),
            text="The gym is closed today.",
            voice="Polly.Joanna",
            language="en-US",
        )
    assert not Broadcast.objects.exists()
    assert credits_balance(organization=org) == 10
