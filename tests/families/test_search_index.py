"""The lists' search is served by trigram indexes on PostgreSQL and still works on SQLite."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.http import QueryDict

from families.models import Family, Guardian, Student
from families.selection import kind_filterset
from tests.factories import FamilyFactory, GuardianFactory, StudentFactory

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
TRIGRAM_INDEXES = {
    "family_name_trgm",
    "student_first_name_trgm",
    "student_last_name_trgm",
    "guardian_first_name_trgm",
    "guardian_last_name_trgm",
    "guardian_email_trgm",
    "phonenumber_e164_trgm",
}


def _search(org, text: str):
    filterset = kind_filterset(organization=org, kind="families", data=QueryDict(f"q={text}"))
    assert filterset.is_valid()
    return filterset.qs


def test_the_migration_made_the_trigram_indexes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%%_trgm'")
        found = dict(cursor.fetchall())
    assert set(found) >= TRIGRAM_INDEXES
    assert "gin_trgm_ops" in found["family_name_trgm"]


def test_the_family_search_can_use_its_trigram_indexes(org):
    # Enough rows of one organization that its index is no shortcut, and fresh statistics.
    families = Family.objects.bulk_create(
        Family(organization=org, name=f"Family {n:03d}") for n in range(300)
    )
    Student.objects.bulk_create(
        Student(organization=org, family=f, first_name="Kid", last_name=f.name) for f in families
    )
    Guardian.objects.bulk_create(
        Guardian(organization=org, family=f, first_name="Pat", last_name=f.name) for f in families
    )
    FamilyFactory(organization=org, name="Garcia")
    sql, params = _search(org, "garcia").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE families_family, families_student, families_guardian")
        # Tiny tables are cheaper to scan, by row or by organization: forbid both (within the
        # test's transaction) to see what the query can use.
        cursor.execute("SET LOCAL enable_seqscan = off")
        for index in _organization_indexes(cursor):
            cursor.execute(f'DROP INDEX "{index}"')
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    for index in ("family_name_trgm", "student_last_name_trgm", "guardian_email_trgm"):
        assert index in plan, plan


def _organization_indexes(cursor) -> list[str]:
    cursor.execute(
        """
        SELECT c.relname FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_class t ON t.oid = i.indrelid
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]
        WHERE t.relname IN ('families_family', 'families_student', 'families_guardian')
          AND a.attname = 'organization_id'
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
        """
    )
    return [row[0] for row in cursor.fetchall()]


def test_a_family_found_several_ways_is_listed_once(org):
    garcia = FamilyFactory(organization=org, name="Garcia")
    StudentFactory(family=garcia, last_name="Garcia")
    GuardianFactory(family=garcia, last_name="Garcia", email="garcia@example.test")
    FamilyFactory(organization=org, name="Smith")
    assert list(_search(org, "GARCIA")) == [garcia]
    assert _search(org, "garcia").count() == 1


def test_the_search_works_on_sqlite(tmp_path):
    code = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('migrate', verbosity=0)\n"
        "from django.http import QueryDict\n"
        "from families.models import Family, Guardian\n"
        "from families.selection import kind_filterset\n"
        "from smsvoice.models import Organization\n"
        "org = Organization.objects.create(name='Gym')\n"
        "f = Family.objects.create(organization=org, name='Rivera')\n"
        "Family.objects.create(organization=org, name='Chen')\n"
        "Guardian.objects.create(organization=org, family=f, first_name='Ana', last_name='X')\n"
        "fs = kind_filterset(organization=org, kind='families', data=QueryDict('q=ana'))\n"
        "assert fs.is_valid()\n"
        "print(sorted(x.name for x in fs.qs))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_NAME")}
    env.update(
        DJANGO_SETTINGS_MODULE="smsvoice.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        LOG_LEVEL="WARNING",
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['Rivera']"
