"""Database helpers shared by the apps' migrations."""

from __future__ import annotations

from django.db import migrations


def append_only_trigger(table: str, detachable: tuple[str, ...] = ()) -> migrations.RunPython:
    """A migration operation that makes ``table`` refuse UPDATE and DELETE on PostgreSQL.

    Evidence (consent events) and money (ledger entries) are never edited. The model refuses
    it too, but the trigger also stops raw SQL and bulk paths. Deleting the organization
    is refused as well, on purpose: such rows outlive their organization unless an operator
    disables the trigger deliberately.

    ``detachable`` names link columns that may be set to NULL, and nothing else changed, when
    the row they point at is deleted (``on_delete=SET_NULL``): the evidence stays, detached.
    """
    function = f"{table}_append_only"
    columns = "ARRAY[" + ", ".join(f"'{c}'" for c in detachable) + "]::text[]"

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(
            f"""
            CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
            DECLARE
                detachable text[] := {columns};
                col text;
            BEGIN
                IF TG_OP = 'UPDATE' AND cardinality(detachable) > 0
                   AND (to_jsonb(NEW) - detachable) = (to_jsonb(OLD) - detachable) THEN
                    FOREACH col IN ARRAY detachable LOOP
                        IF (to_jsonb(NEW) ->> col) IS NOT NULL
                           AND (to_jsonb(NEW) ->> col) IS DISTINCT FROM (to_jsonb(OLD) ->> col) THEN
                            RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME
                                USING ERRCODE = 'restrict_violation';
                        END IF;
                    END LOOP;
                    RETURN NEW;
                END IF;
                RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME
                    USING ERRCODE = 'restrict_violation';
            END;
            $$ LANGUAGE plpgsql;
            CREATE TRIGGER {function} BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION {function}();
            """,
            params=None,  # the body's % signs are plpgsql's, not parameters
        )

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {function} ON {table}; DROP FUNCTION IF EXISTS {function}();"
        )

    return migrations.RunPython(forwards, backwards)


def composite_foreign_key(
    table: str, columns: tuple[str, ...], target: str, target_columns: tuple[str, ...], name: str
) -> migrations.RunPython:
    """A migration operation that adds, on PostgreSQL, a foreign key of several columns
    (which Django cannot declare), deferred to commit like the ones Django makes.

    ``target_columns`` need a unique constraint of their own. Other databases (the embedded
    SQLite demo) go without it, as Django's relations there still cascade by themselves.
    """

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} "
            f"FOREIGN KEY ({', '.join(map(quote, columns))}) "
            f"REFERENCES {quote(target)} ({', '.join(map(quote, target_columns))}) "
            "DEFERRABLE INITIALLY DEFERRED"
        )

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        quote = schema_editor.quote_name
        schema_editor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT IF EXISTS {quote(name)}")

    return migrations.RunPython(forwards, backwards)
