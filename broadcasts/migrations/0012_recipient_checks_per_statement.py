"""A recipient's broadcast and family are checked once per statement instead of once per row.

Foreign keys checked each written row on its own at commit, share-locking the row it points
at: for a 50,000-number broadcast, 75,000 checks of the same broadcast (0.4 s) and of 50,000
different families, each locked (1.2 s). On PostgreSQL the keys make way for triggers that
keep the same guarantees with one join per statement, and one more: the family must be the
recipient's own organization's (as the broadcast already had to be, since 0011).

- Rows inserted: one statement-level check joins all of them to their broadcasts, share-locked
  once each (as the key locked them once per row), and to their families, after taking a
  shared advisory lock per organization that holds off deletes of that organization's
  families until the transaction ends (the key's lock on each family row did that).
- A row moved to another broadcast, family or organization is checked on its own.
- A broadcast or family deleted is refused while a recipient still names it, as the keys
  refused it (Django deletes or detaches those first); a family's delete takes the advisory
  lock exclusively first, so it waits for broadcasts being written and they wait for it.
  Neither can change its id or organization under its recipients.

The checks read the latest committed rows (each statement of a plpgsql function takes a new
snapshot under READ COMMITTED, Django's level). Existing rows are kept and checked once here.
Other databases (the embedded SQLite demo) go without a database check, as they went without
the composite key: Django still cascades and detaches.
"""

import django.db.models.deletion
from django.db import migrations, models

LOCK = "hashtextextended('recipients of families ' || {org}, 0)"

FORWARDS = f"""
CREATE FUNCTION broadcasts_recipient_keys_check() RETURNS trigger AS $$
DECLARE
    wanted bigint;
    found bigint;
BEGIN
    SELECT count(*) INTO wanted FROM (SELECT DISTINCT broadcast_id, organization_id FROM new_rows) AS w;
    SELECT count(*) INTO found FROM (
        SELECT b.id FROM broadcasts_broadcast AS b
        WHERE (b.id, b.organization_id) IN (SELECT broadcast_id, organization_id FROM new_rows)
        ORDER BY b.id FOR KEY SHARE
    ) AS locked;
    IF found <> wanted THEN
        RAISE EXCEPTION 'a recipient names a broadcast that is not its organization''s'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    PERFORM pg_advisory_xact_lock_shared({LOCK.format(org="orgs.id")})
    FROM (
        SELECT DISTINCT organization_id AS id FROM new_rows
        WHERE family_id IS NOT NULL ORDER BY 1
    ) AS orgs;
    IF EXISTS (
        SELECT 1 FROM new_rows AS r
        LEFT JOIN families_family AS f
            ON f.id = r.family_id AND f.organization_id = r.organization_id
        WHERE r.family_id IS NOT NULL AND f.id IS NULL
    ) THEN
        RAISE EXCEPTION 'a recipient names a family that is not its organization''s'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER recipient_keys_insert AFTER INSERT ON broadcasts_recipient
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION broadcasts_recipient_keys_check();

CREATE FUNCTION broadcasts_recipient_keys_row_check() RETURNS trigger AS $$
BEGIN
    PERFORM 1 FROM broadcasts_broadcast AS b
    WHERE b.id = NEW.broadcast_id AND b.organization_id = NEW.organization_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'a recipient names a broadcast that is not its organization''s'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF NEW.family_id IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock_shared({LOCK.format(org="NEW.organization_id")});
    IF NOT EXISTS (
        SELECT 1 FROM families_family AS f
        WHERE f.id = NEW.family_id AND f.organization_id = NEW.organization_id
    ) THEN
        RAISE EXCEPTION 'a recipient names a family that is not its organization''s'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER recipient_keys_update
    AFTER UPDATE OF broadcast_id, family_id, organization_id ON broadcasts_recipient
    FOR EACH ROW
    WHEN (NEW.broadcast_id IS DISTINCT FROM OLD.broadcast_id
          OR NEW.organization_id IS DISTINCT FROM OLD.organization_id
          OR (NEW.family_id IS NOT NULL AND NEW.family_id IS DISTINCT FROM OLD.family_id))
    EXECUTE FUNCTION broadcasts_recipient_keys_row_check();

CREATE FUNCTION families_family_recipients_lock() RETURNS trigger AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({LOCK.format(org="OLD.organization_id")});
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER family_recipients_lock BEFORE DELETE ON families_family
    FOR EACH ROW EXECUTE FUNCTION families_family_recipients_lock();

CREATE FUNCTION families_family_recipients_kept() RETURNS trigger AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM broadcasts_recipient AS r JOIN gone ON r.family_id = gone.id
    ) THEN
        RAISE EXCEPTION 'a family that recipients still name cannot be deleted'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER family_recipients_kept AFTER DELETE ON families_family
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION families_family_recipients_kept();

CREATE FUNCTION families_family_recipients_moved() RETURNS trigger AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({LOCK.format(org="OLD.organization_id")});
    IF EXISTS (SELECT 1 FROM broadcasts_recipient AS r WHERE r.family_id = OLD.id) THEN
        RAISE EXCEPTION 'a family that recipients name cannot change its id or organization'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER family_recipients_moved BEFORE UPDATE OF id, organization_id ON families_family
    FOR EACH ROW
    WHEN (NEW.id IS DISTINCT FROM OLD.id OR NEW.organization_id IS DISTINCT FROM OLD.organization_id)
    EXECUTE FUNCTION families_family_recipients_moved();

CREATE FUNCTION broadcasts_broadcast_recipients_kept() RETURNS trigger AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM broadcasts_recipient AS r JOIN gone ON r.broadcast_id = gone.id
    ) THEN
        RAISE EXCEPTION 'a broadcast that recipients still name cannot be deleted'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER broadcast_recipients_kept AFTER DELETE ON broadcasts_broadcast
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION broadcasts_broadcast_recipients_kept();

CREATE FUNCTION broadcasts_broadcast_recipients_moved() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM broadcasts_recipient AS r WHERE r.broadcast_id = OLD.id) THEN
        RAISE EXCEPTION 'a broadcast that recipients name cannot change its id or organization'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER broadcast_recipients_moved
    BEFORE UPDATE OF id, organization_id ON broadcasts_broadcast
    FOR EACH ROW
    WHEN (NEW.id IS DISTINCT FROM OLD.id OR NEW.organization_id IS DISTINCT FROM OLD.organization_id)
    EXECUTE FUNCTION broadcasts_broadcast_recipients_moved();

ALTER TABLE broadcasts_recipient DROP CONSTRAINT recipient_broadcast_organization_fk;

DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM broadcasts_recipient AS r
        LEFT JOIN broadcasts_broadcast AS b
            ON b.id = r.broadcast_id AND b.organization_id = r.organization_id
        WHERE b.id IS NULL
    ) THEN
        RAISE EXCEPTION 'a recipient names a broadcast that is not its organization''s'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF EXISTS (
        SELECT 1 FROM broadcasts_recipient AS r
        LEFT JOIN families_family AS f
            ON f.id = r.family_id AND f.organization_id = r.organization_id
        WHERE r.family_id IS NOT NULL AND f.id IS NULL
    ) THEN
        RAISE EXCEPTION 'a recipient names a family that is not its organization''s'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
END;
$$;
"""

BACKWARDS = """
ALTER TABLE broadcasts_recipient ADD CONSTRAINT recipient_broadcast_organization_fk
    FOREIGN KEY (broadcast_id, organization_id)
    REFERENCES broadcasts_broadcast (id, organization_id) DEFERRABLE INITIALLY DEFERRED;
DROP TRIGGER IF EXISTS broadcast_recipients_kept ON broadcasts_broadcast;
DROP TRIGGER IF EXISTS broadcast_recipients_moved ON broadcasts_broadcast;
DROP FUNCTION IF EXISTS broadcasts_broadcast_recipients_kept();
DROP FUNCTION IF EXISTS broadcasts_broadcast_recipients_moved();
DROP TRIGGER IF EXISTS recipient_keys_insert ON broadcasts_recipient;
DROP TRIGGER IF EXISTS recipient_keys_update ON broadcasts_recipient;
DROP TRIGGER IF EXISTS family_recipients_lock ON families_family;
DROP TRIGGER IF EXISTS family_recipients_kept ON families_family;
DROP TRIGGER IF EXISTS family_recipients_moved ON families_family;
DROP FUNCTION IF EXISTS broadcasts_recipient_keys_check();
DROP FUNCTION IF EXISTS broadcasts_recipient_keys_row_check();
DROP FUNCTION IF EXISTS families_family_recipients_lock();
DROP FUNCTION IF EXISTS families_family_recipients_kept();
DROP FUNCTION IF EXISTS families_family_recipients_moved();
"""


def checks_add(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARDS, params=None)  # the % signs are plpgsql's


def checks_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARDS, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("broadcasts", "0011_recipient_broadcast_organization_key"),
        ("families", "0008_directoryimport_file_purged_at"),
    ]

    operations = [
        # Backwards, the key comes back (after the triggers are gone, so in this order).
        migrations.RunPython(checks_add, checks_drop),
        migrations.AlterField(
            model_name="recipient",
            name="family",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                to="families.family",
            ),
        ),
    ]
