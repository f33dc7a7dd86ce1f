"""Each family's active students' first names, kept by PostgreSQL on the family row (PostgreSQL
only; nothing happens on SQLite).

``families_family.active_student_names`` holds what ``broadcasts.selectors._active_students``
computes for the family: the first names of its students of the same organization that are not
inactive, ordered by first name (the database's collation, as the ORM's ``order_by``) and id;
NULL when there are none. Composing {student_first_name} for 50,000 families then reads it as
one more column of the plan's main query instead of reading and grouping 75,000 students.

It is not a model field: Django never writes it (a family's ``save()`` leaves it alone), and
SQLite, which has no arrays, goes without it.

Statement-level triggers on families_student keep it, with transition tables, so a bulk import
of 75,000 students refreshes its families in one statement rather than one update per student.
A trigger with transition tables takes one event (and no column list), hence three; the update
one refreshes only the families whose students changed in what the names depend on (both the
old and the new family of a moved student). A family moved to another organization (nothing
in the app does it) recomputes its own names, by a row trigger that fires only then. TRUNCATE
fires none of them: only a flush of the whole schema truncates students, and it truncates the
families with them.

Two transactions adding students to one family at once: each refresh first locks the family
rows, in id order (no deadlock between two refreshes), then recomputes them in a statement of
its own, whose fresh snapshot (READ COMMITTED) sees the students of a transaction that held the
lock and committed. A subquery in the same statement as the lock would use the snapshot taken
before the wait and miss them. The lock is FOR NO KEY UPDATE, the one the UPDATE takes anyway:
FOR UPDATE would also block, until commit, every other transaction's foreign-key check on those
families (a new student, guardian or number of theirs).
"""

from django.db import migrations

REFRESH = """
CREATE FUNCTION families_family_names_refresh(ids bigint[]) RETURNS void AS $$
BEGIN
    IF cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    PERFORM 1 FROM families_family WHERE id = ANY(ids) ORDER BY id FOR NO KEY UPDATE;
    UPDATE families_family f
       SET active_student_names = (
               SELECT array_agg(s.first_name ORDER BY s.first_name, s.id)
                 FROM families_student s
                WHERE s.family_id = f.id
                  AND s.organization_id = f.organization_id
                  AND s.status <> 'inactive')
     WHERE f.id = ANY(ids);
END;
$$ LANGUAGE plpgsql;
"""

# The families whose names a statement may have changed. Only students who are not inactive
# count, so inserting or deleting an inactive one changes nothing. An update: the counted old
# rows not among the new ones (left, renamed, moved, set inactive) and the counted new rows not
# among the old (the other way round); a set difference, so a NULL equals a NULL. The id is
# compared too, as it orders namesakes.
CHANGED = """
    SELECT family_id FROM (
        SELECT id, family_id, first_name, status, organization_id
          FROM old_rows WHERE status <> 'inactive'
        EXCEPT
        SELECT id, family_id, first_name, status, organization_id FROM new_rows
    ) gone
    UNION
    SELECT family_id FROM (
        SELECT id, family_id, first_name, status, organization_id
          FROM new_rows WHERE status <> 'inactive'
        EXCEPT
        SELECT id, family_id, first_name, status, organization_id FROM old_rows
    ) came
"""

# (event, transition tables, the families it refreshes)
TRIGGERS = (
    (
        "insert",
        "NEW TABLE AS new_rows",
        "SELECT DISTINCT family_id FROM new_rows WHERE status <> 'inactive'",
    ),
    ("update", "OLD TABLE AS old_rows NEW TABLE AS new_rows", CHANGED),
    (
        "delete",
        "OLD TABLE AS old_rows",
        "SELECT DISTINCT family_id FROM old_rows WHERE status <> 'inactive'",
    ),
)

# The family's own row, before it is written: no other transaction's students can be missed,
# as this one holds the row's lock from here to its commit.
MOVED = """
CREATE FUNCTION families_family_names_moved() RETURNS trigger AS $$
BEGIN
    NEW.active_student_names := (
        SELECT array_agg(s.first_name ORDER BY s.first_name, s.id)
          FROM families_student s
         WHERE s.family_id = NEW.id
           AND s.organization_id = NEW.organization_id
           AND s.status <> 'inactive');
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER families_family_names_moved BEFORE UPDATE OF organization_id ON families_family
    FOR EACH ROW WHEN (NEW.organization_id IS DISTINCT FROM OLD.organization_id)
    EXECUTE FUNCTION families_family_names_moved();
"""

BACKFILL = """
UPDATE families_family f
   SET active_student_names = grouped.names
  FROM (SELECT family_id, organization_id,
               array_agg(first_name ORDER BY first_name, id) AS names
          FROM families_student
         WHERE status <> 'inactive'
         GROUP BY family_id, organization_id) grouped
 WHERE f.id = grouped.family_id AND f.organization_id = grouped.organization_id
"""


def names_add(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE families_family ADD COLUMN active_student_names text[]")
    schema_editor.execute(REFRESH, params=None)
    for event, tables, families in TRIGGERS:
        name = f"families_student_names_{event}"
        schema_editor.execute(
            f"""
            CREATE FUNCTION {name}() RETURNS trigger AS $$
            BEGIN
                PERFORM families_family_names_refresh(ARRAY({families}));
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql;
            CREATE TRIGGER {name} AFTER {event.upper()} ON families_student
                REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {name}();
            """,
            params=None,
        )
    schema_editor.execute(MOVED, params=None)
    # After the triggers: creating them waits for the transactions writing students and then
    # keeps others from writing until this one commits, so the backfill misses none.
    schema_editor.execute(BACKFILL)


def names_drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for event, _, _ in TRIGGERS:
        name = f"families_student_names_{event}"
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON families_student")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}()")
    schema_editor.execute("DROP TRIGGER IF EXISTS families_family_names_moved ON families_family")
    schema_editor.execute("DROP FUNCTION IF EXISTS families_family_names_moved()")
    schema_editor.execute("DROP FUNCTION IF EXISTS families_family_names_refresh(bigint[])")
    schema_editor.execute("ALTER TABLE families_family DROP COLUMN IF EXISTS active_student_names")


class Migration(migrations.Migration):
    dependencies = [
        ("families", "0008_directoryimport_file_purged_at"),
    ]

    operations = [
        migrations.RunPython(names_add, names_drop, elidable=False),
    ]
