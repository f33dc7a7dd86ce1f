"""What the database holds a recipient row to: its organization is its broadcast's (checked by
the database once per statement, on PostgreSQL: migration broadcasts 0012), a broadcast is not
deleted under its recipients, and deleting through Django still cascades or detaches."""

import pytest
from django.db import IntegrityError, connection, transaction

from broadcasts.models import Broadcast, Recipient
from smsvoice.models import Organization, StaffMember
from tests.broadcasts.recipient_helpers import broadcast_of, recipient_of
from tests.factories import FamilyFactory, StaffMemberFactory, StudentFactory

KEY = "names a broadcast that is not its organization"  # the database's refusal


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the check is PostgreSQL's (triggers)")


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_a_recipient_of_another_organization(
    postgresql, org, other_org
):
    broadcast = broadcast_of(org)
    with pytest.raises(IntegrityError, match=KEY), transaction.atomic():
        recipient_of(broadcast, organization=other_org)
    assert not Recipient.objects.exists()


@pytest.mark.django_db
def test_the_database_refuses_moving_a_recipient_to_another_organization(
    postgresql, org, other_org
):
    recipient = recipient_of(broadcast_of(org))
    connection.check_constraints()
    with pytest.raises(IntegrityError, match=KEY), transaction.atomic():
        Recipient.objects.filter(pk=recipient.pk).update(organization=other_org)
        connection.check_constraints()
    recipient.refresh_from_db()
    assert recipient.organization_id == org.pk


@pytest.mark.django_db
def test_the_database_refuses_a_recipient_of_a_broadcast_that_does_not_exist(postgresql, org):
    broadcast = broadcast_of(org)
    with pytest.raises(IntegrityError, match=KEY), transaction.atomic():
        recipient_of(broadcast)
        Recipient.objects.update(broadcast_id=broadcast.pk + 1000)
        connection.check_constraints()


@pytest.mark.django_db
def test_a_recipient_of_its_broadcasts_organization_is_accepted(org):
    broadcast = broadcast_of(org)
    with transaction.atomic():
        recipient_of(broadcast)
        connection.check_constraints()
    assert broadcast.recipients.get().organization_id == org.pk


@pytest.mark.django_db
def test_deleting_a_broadcast_deletes_its_recipients(org):
    kept = recipient_of(broadcast_of(org))
    deleted = broadcast_of(org)
    recipient_of(deleted)
    deleted.delete()
    connection.check_constraints()
    assert list(Recipient.objects.all()) == [kept]


@pytest.mark.django_db
def test_deleting_an_organization_deletes_its_broadcasts_and_their_recipients(org, other_org):
    recipient_of(broadcast_of(org))
    kept = recipient_of(broadcast_of(other_org))
    Organization.objects.filter(pk=org.pk).delete()
    connection.check_constraints()
    assert list(Broadcast.objects.all()) == [kept.broadcast]
    assert list(Recipient.objects.all()) == [kept]


@pytest.mark.django_db
def test_deleting_a_student_or_staff_member_keeps_their_recipients_without_them(org):
    broadcast = broadcast_of(org)
    family = FamilyFactory(organization=org)
    student = StudentFactory(family=family)
    member = StaffMemberFactory(organization=org, role=StaffMember.Role.STAFF)
    of_student = recipient_of(broadcast, family=family, student=student)
    of_member = recipient_of(broadcast, staff_member=member, e164="+12015550124")
    student.delete()
    member.delete()
    connection.check_constraints()
    of_student.refresh_from_db()
    of_member.refresh_from_db()
    assert (of_student.family_id, of_student.student_id) == (family.pk, None)
    assert of_member.staff_member_id is None


@pytest.mark.django_db
def test_a_broadcast_that_recipients_name_is_not_deleted_or_renumbered_under_them(postgresql, org):
    broadcast = broadcast_of(org)
    recipient_of(broadcast)
    with (
        pytest.raises(IntegrityError, match="still name"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM broadcasts_broadcast WHERE id = %s", [broadcast.pk])
    with pytest.raises(IntegrityError, match="cannot change"), transaction.atomic():
        Broadcast.objects.filter(pk=broadcast.pk).update(id=broadcast.pk + 1000)
    assert broadcast.recipients.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_broadcast_deleted_while_its_recipients_are_written_waits_and_is_refused(
    postgresql, org
):
    """Recipients written for a broadcast (as a voice broadcast's are, after it was made) and
    not yet committed share-lock it: a delete waits for them, then is refused."""
    import threading
    import time

    from django.db import close_old_connections

    broadcast = broadcast_of(org)
    written, results = threading.Event(), {}

    def write():
        try:
            with transaction.atomic():
                recipient_of(broadcast)
                written.set()
                time.sleep(1.0)
            results["write"] = "committed"
        finally:
            close_old_connections()
            connection.close()

    def delete():
        written.wait(5)
        try:
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM broadcasts_broadcast WHERE id = %s", [broadcast.pk])
            results["delete"] = "deleted"
        except IntegrityError as error:
            results["delete"] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=write), threading.Thread(target=delete)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert results["write"] == "committed"
    assert isinstance(results["delete"], IntegrityError), results
    assert Broadcast.objects.filter(pk=broadcast.pk).exists()
    assert broadcast.recipients.count() == 1
