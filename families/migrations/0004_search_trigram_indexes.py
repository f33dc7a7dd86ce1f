"""Trigram indexes for the lists' search (PostgreSQL only; nothing happens on SQLite).

The search filter matches ``icontains``, which Django writes as ``UPPER(col::text) LIKE
UPPER('%value%')`` on PostgreSQL: a GIN index of ``UPPER(col)`` with pg_trgm's gin_trgm_ops
answers that without reading every row. Phone numbers are matched with a case-sensitive
``contains``, so their index is on the column itself.

The indexes are built CONCURRENTLY (so the migration is not atomic): writes to the families
tables go on while they build. They are not in the models' Meta, because SQLite cannot have
them; Django does not need to know about an index to use it.
"""

from django.db import migrations

# (index name, table, indexed expression)
INDEXES = (
    ("family_name_trgm", "families_family", "UPPER(name)"),
    ("student_first_name_trgm", "families_student", "UPPER(first_name)"),
    ("student_last_name_trgm", "families_student", "UPPER(last_name)"),
    ("guardian_first_name_trgm", "families_guardian", "UPPER(first_name)"),
    ("guardian_last_name_trgm", "families_guardian", "UPPER(last_name)"),
    ("guardian_email_trgm", "families_guardian", "UPPER(email)"),
    ("phonenumber_e164_trgm", "families_phonenumber", "e164"),
)


def create_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, expression in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} "
            f"ON {table} USING gin ({expression} gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("families", "0003_phonenumber_guardian"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
