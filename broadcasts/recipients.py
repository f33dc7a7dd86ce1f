"""Who a broadcast reaches, shared by every channel: the refusal raised when nobody (or nothing)
can be sent, and the recipient rows written for a plan.

Writing 50,000 rows through model instances costs seconds of Python (each instance, each
field's default, each value's preparation), so on PostgreSQL ``recipients_insert`` sends
columns: one ``INSERT … SELECT … FROM unnest(arrays)`` per batch, with the values that differ
from row to row as arrays and everything else (the broadcast, the organization, every other
field's default) once. The column list is read from the model, so a field added later gets its
default without this module knowing it. Other databases (the embedded SQLite demo) use
``bulk_create``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import connection
from django.db.models import NOT_PROVIDED
from django.utils import timezone

from broadcasts.models import (
    Broadcast,
    Recipient,
)

logger = logging.getLogger(__name__)
Status = Recipient.Status


class BroadcastRefused(Exception):
    """A send that cannot go out; the message says why, in words for the person sending."""


def nobody_message(excluded: dict[str, int], *, can: str = "receive texts") -> str:
    if not excluded:
        return "Nobody is selected."
    labels = dict(Recipient.Reason.choices)
    why = ", ".join(f"{n} {labels[r].lower()}" for r, n in sorted(excluded.items()))
    return f"None of the selected numbers can {can} ({why})."


# Rows per INSERT: large enough that statements are few, small enough to keep each under a
# few megabytes of SQL.
INSERT_BATCH = 20_000


def recipients_insert(
    *,
    broadcast: Broadcast,
    recipients: Sequence,
    texts: Sequence[str],
    parts: Sequence[int],
    credits: Sequence[int],
    excluded: Sequence,
) -> int:
    """Write the rows of a plan: ``recipients`` (pending, with their text, parts and credits)
    then ``excluded`` (left out, with their reason). Returns how many rows were written."""
    left = len(excluded)
    columns = {
        "e164": [p.e164 for p in recipients] + [p.e164 for p in excluded],
        "family_id": [p.family_id for p in recipients] + [p.family_id for p in excluded],
        "student_id": [p.student_id for p in recipients] + [p.student_id for p in excluded],
        "staff_member_id": [p.staff_member_id for p in recipients]
        + [p.staff_member_id for p in excluded],
        "owner_label": [p.owner_label[:200] for p in recipients]
        + [p.owner_label[:200] for p in excluded],
        "text": [*texts, *([""] * left)],
        "parts": [*parts, *([0] * left)],
        "credits": [*credits, *([0] * left)],
        "status": [Status.PENDING] * len(recipients) + [Status.EXCLUDED] * left,
        "reason": [""] * len(recipients) + [p.reason for p in excluded],
    }
    count = len(columns["e164"])
    if connection.vendor != "postgresql":
        rows = (
            Recipient(
                broadcast=broadcast,
                organization_id=broadcast.organization_id,
                **{name: values[i] for name, values in columns.items()},
            )
            for i in range(count)
        )
        Recipient.objects.bulk_create(rows, batch_size=2000)
        return count
    fixed = {"broadcast_id": broadcast.pk, "organization_id": broadcast.organization_id}
    for start in range(0, count, INSERT_BATCH):
        batch = {name: values[start : start + INSERT_BATCH] for name, values in columns.items()}
        _unnest_insert(batch, fixed, min(INSERT_BATCH, count - start))
    return count


def _unnest_insert(columns: dict[str, list], fixed: dict[str, object], count: int) -> None:
    """One INSERT of ``count`` rows: ``columns`` vary per row, ``fixed`` and every other
    field's default are the same for all (a callable default is called for each row)."""
    now = timezone.now()
    arrays, array_types, selected, params, names = [], [], [], [], []
    for field in Recipient._meta.concrete_fields:
        if field.primary_key or getattr(field, "generated", False):
            continue
        given = field.attname in columns or field.attname in fixed
        if not given and field.db_default is not NOT_PROVIDED:
            continue  # the database fills it
        db_type = field.db_type(connection)
        names.append(connection.ops.quote_name(field.column))
        per_row = field.attname not in fixed and field.has_default() and callable(field.default)
        if field.attname in columns or per_row:
            values = columns.get(field.attname) or [field.get_default() for _ in range(count)]
            if field.attname not in columns:
                values = [field.get_db_prep_save(v, connection) for v in values]
            selected.append(f"u.c{len(arrays)}")
            arrays.append(values)
            array_types.append(f"%s::{db_type}[]")
            continue
        if field.attname in fixed:
            value = fixed[field.attname]
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = now
        else:
            value = field.get_default()
        selected.append(f"%s::{db_type}")
        params.append(field.get_db_prep_save(value, connection))
    aliases = ", ".join(f"c{i}" for i in range(len(arrays)))
    # Names come from the model and every value is a parameter.
    table = connection.ops.quote_name(Recipient._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({', '.join(names)}) "  # noqa: S608
        f"SELECT {', '.join(selected)} FROM unnest({', '.join(array_types)}) AS u({aliases})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params + arrays)
