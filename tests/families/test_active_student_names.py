"""``families_family.active_student_names`` (families migration 0009), which PostgreSQL's
triggers on the students keep, is what ``broadcasts.selectors._active_students`` reads from
the students, for every family, whatever changed them: one save, a bulk statement, two
transactions at once, the migration undone and done again."""

import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction

from broadcasts.selectors import _active_students
from families.models import Family, Student
from smsvoice.models import Organization
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the column and its triggers are PostgreSQL's")


def names_in_column(org: Organization) -> dict[int, tuple[str, ...]]:
    """The column of the organization's families, as ``_active_students`` gives it: a NULL is
    left out, an empty array (which it should never hold) kept, to differ."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, active_student_names FROM families_family WHERE organization_id = %s",
            [org.pk],
        )
        return {fid: tuple(names) for fid, names in cursor.fetchall() if names is not None}


def assert_column_is_computed(org: Organization) -> dict[int, tuple[str, ...]]:
    computed = _active_students(org, Family.objects.for_org(org))
    assert names_in_column(org) == computed
    return computed


def student(family: Family, first_name: str, **fields) -> Student:
    return Student.objects.create(
        organization=family.organization,
        family=family,
        first_name=first_name,
        last_name=family.name,
        **fields,
    )


def test_the_names_follow_each_student_created_renamed_paused_moved_and_deleted(org):
    west = Family.objects.create(organization=org, name="West")
    chen = Family.objects.create(organization=org, name="Chen")
    Family.objects.create(organization=org, name="Empty")
    kai = student(west, "Kai")
    student(west, "ana")
    student(west, "Élan")
    assert assert_column_is_computed(org)[west.pk] == tuple(
        Student.objects.filter(family=west)
        .order_by("first_name", "id")
        .values_list("first_name", flat=True)
    )
    kai.first_name = "Zoe"
    kai.save()
    assert_column_is_computed(org)
    kai.status = Student.Status.INACTIVE
    kai.save()
    assert "Zoe" not in assert_column_is_computed(org)[west.pk]
    kai.status = Student.Status.WAITLIST
    kai.save()
    assert "Zoe" in assert_column_is_computed(org)[west.pk]
    kai.family = chen
    kai.save()
    assert assert_column_is_computed(org)[chen.pk] == ("Zoe",)
    kai.delete()
    assert chen.pk not in assert_column_is_computed(org)
    west.delete()  # its students go first
    assert assert_column_is_computed(org) == {}


def test_the_names_follow_bulk_creates_updates_and_deletes(org):
    families = Family.objects.bulk_create(
        [Family(organization=org, name=f"Family {i}") for i in range(30)]
    )
    Student.objects.bulk_create(
        [
            Student(
                organization=org,
                family=family,
                first_name=("Mia", "Leo", "ana", "Noah")[(i + k) % 4],
                last_name=family.name,
                status=Student.Status.INACTIVE if (i + k) % 5 == 0 else Student.Status.ACTIVE,
            )
            for i, family in enumerate(families)
            for k in range(i % 4)
        ]
    )
    assert len(assert_column_is_computed(org)) > 15
    students = Student.objects.for_org(org)
    students.filter(first_name="Mia").update(first_name="Ava")
    assert_column_is_computed(org)
    students.filter(first_name="Leo").update(status=Student.Status.INACTIVE)
    assert_column_is_computed(org)
    students.filter(status=Student.Status.INACTIVE).update(status=Student.Status.WAITLIST)
    assert_column_is_computed(org)
    students.filter(family__in=families[:10]).update(family=families[-1])
    assert assert_column_is_computed(org)[families[-1].pk]
    students.filter(first_name="ana").delete()
    assert_column_is_computed(org)
    students.delete()
    assert assert_column_is_computed(org) == {}


def test_a_student_filed_under_another_organization_is_not_named(org, other_org):
    family = Family.objects.create(organization=org, name="West")
    student(family, "Kai")
    Student.objects.create(organization=other_org, family=family, first_name="Stray", last_name="X")
    assert assert_column_is_computed(org) == {family.pk: ("Kai",)}
    Student.objects.filter(first_name="Stray").update(organization=org)
    assert assert_column_is_computed(org) == {family.pk: ("Kai", "Stray")}


def test_a_family_moved_to_another_organization_names_that_organizations_students(org, other_org):
    family = Family.objects.create(organization=org, name="West")
    student(family, "Kai")
    Student.objects.create(organization=other_org, family=family, first_name="Ava", last_name="X")
    family.organization = other_org
    family.save()
    assert assert_column_is_computed(org) == {}
    assert assert_column_is_computed(other_org) == {family.pk: ("Ava",)}


def test_a_change_the_names_do_not_depend_on_leaves_the_family_row_alone(org):
    family = Family.objects.create(organization=org, name="West")
    kai = student(family, "Kai")
    student(family, "Old", status=Student.Status.INACTIVE)

    def row_version() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT ctid::text FROM families_family WHERE id = %s", [family.pk])
            return cursor.fetchone()[0]

    before = row_version()
    kai.level = "Level 2"
    kai.save()  # Django writes every column, the name too, unchanged
    Student.objects.filter(first_name="Old").update(first_name="Older")
    student(family, "Gone", status=Student.Status.INACTIVE).delete()
    assert row_version() == before
    kai.first_name = "Kai-Li"
    kai.save()
    assert row_version() != before


def _wait_until_a_backend_waits_for_a_lock(timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the second transaction never waited for the first's lock")


@pytest.mark.django_db(transaction=True)
def test_two_transactions_adding_students_to_one_family_at_once_both_are_named():
    """The second one adds its student while the first, which added its own, has not
    committed: its refresh waits for the first's lock on the family and then must see the
    first's student, committed meanwhile (a refresh reading the students in the statement that
    waited would not)."""
    org = OrganizationFactory()
    family = Family.objects.create(organization=org, name="West")
    first_added, first_may_commit = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def add(first_name: str, before_commit) -> None:
        try:
            with transaction.atomic():
                student(family, first_name)
                before_commit()
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()  # this thread's own connection

    first = threading.Thread(
        target=add, args=("Kai", lambda: (first_added.set(), first_may_commit.wait(20)))
    )
    second = threading.Thread(target=add, args=("Ava", lambda: None))
    first.start()
    assert first_added.wait(20)
    second.start()
    try:
        _wait_until_a_backend_waits_for_a_lock()
    finally:
        first_may_commit.set()
        first.join(20)
        second.join(20)
    assert failures == []
    assert assert_column_is_computed(org) == {family.pk: ("Ava", "Kai")}


def _column_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'families_family' AND column_name = 'active_student_names'"
        )
        return bool(cursor.fetchone()[0])


def _triggers() -> list[str]:
    """The names' triggers and functions (the families' other triggers are not theirs)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'families_%names%' "
            "UNION ALL SELECT proname FROM pg_proc WHERE proname LIKE 'families_%names%' "
            "ORDER BY 1"
        )
        return [name for (name,) in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_the_migration_reverses_and_fills_the_column_again_on_the_way_back():
    org = OrganizationFactory()
    west = Family.objects.create(organization=org, name="West")
    chen = Family.objects.create(organization=org, name="Chen")
    student(west, "Kai")
    student(west, "Old", status=Student.Status.INACTIVE)
    triggers = _triggers()
    assert triggers == [
        "families_family_names_moved",
        "families_family_names_moved",
        "families_family_names_refresh",
        "families_student_names_delete",
        "families_student_names_delete",
        "families_student_names_insert",
        "families_student_names_insert",
        "families_student_names_update",
        "families_student_names_update",
    ]
    call_command("migrate", "families", "0008", verbosity=0)
    try:
        assert not _column_exists()
        assert _triggers() == []
        student(chen, "Sofia")  # while nothing keeps the names
        Student.objects.filter(first_name="Old").update(status=Student.Status.ACTIVE)
    finally:
        call_command("migrate", "families", verbosity=0)
    assert _triggers() == triggers
    assert Student.objects.for_org(org).count() == 3
    assert assert_column_is_computed(org) == {west.pk: ("Kai", "Old"), chen.pk: ("Sofia",)}
    student(chen, "Ava")  # and the triggers keep them again
    assert assert_column_is_computed(org)[chen.pk] == ("Ava", "Sofia")
