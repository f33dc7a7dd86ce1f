"""Who a broadcast reaches, shared by every channel: the refusal raised when nobody (or nothing)
can be sent, and the recipient rows written for a plan.

Writing 50,000 rows through model instances costs seconds of Python (each instance, each
field's default, each value's preparation), and sending them as an INSERT's parameters costs
the database as much again in parsing; so on PostgreSQL ``recipients_insert`` streams them
with ``COPY … FROM STDIN``, a batch at a time: the values that differ from row to row, then
everything else (the broadcast, the organization, every other field's default) the same on
every line. The column list is read from the model, so a field added later gets its default
without this module knowing it, and each column is turned into COPY's text as its field's
type says (texts escaped a whole column at a time) rather than by asking every value what it
is. Other databases (the embedded SQLite demo) use ``bulk_create``.
"""

from __future__ import annotations

import datetime
import io
import logging
from collections.abc import Sequence
from decimal import Decimal

from django.db import IntegrityError, connection, models
from django.db.models import NOT_PROVIDED
from django.utils import timezone
from psycopg2.errorcodes import FOREIGN_KEY_VIOLATION

from broadcasts.models import (
    Broadcast,
    Recipient,
)

logger = logging.getLogger(__name__)
Status = Recipient.Status


class BroadcastRefused(Exception):
    """A send that cannot go out; the message says why, in words for the person sending."""


# Why a write of recipient rows was refused when a family (or broadcast) the plan named was
# deleted after the plan was read: the database refuses the whole write (migration 0012's
# checks), so nothing was written or charged and sending again plans afresh.
DIRECTORY_CHANGED = (
    "Some of the selected people were changed or deleted while the broadcast was being "
    "written. Nothing was sent or charged: try again."
)


def directory_changed(error: IntegrityError) -> bool:
    """Whether the database refused recipient rows for naming a row that is gone (PostgreSQL's
    foreign_key_violation), rather than for a fault of ours."""
    return getattr(error.__cause__, "pgcode", None) == FOREIGN_KEY_VIOLATION


def nobody_message(excluded: dict[str, int], *, can: str = "receive texts") -> str:
    if not excluded:
        return "Nobody is selected."
    labels = dict(Recipient.Reason.choices)
    why = ", ".join(f"{n} {labels[r].lower()}" for r, n in sorted(excluded.items()))
    return f"None of the selected numbers can {can} ({why})."


# Rows per COPY: large enough that statements are few, small enough to keep each under a
# few megabytes of data.
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
    if connection.vendor != "postgresql" or connection.Database.__name__ != "psycopg2":
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
        _copy_rows(batch, fixed, min(INSERT_BATCH, count - start))
    return count


# COPY's text format: a tab between columns, \N for NULL, and these escaped inside a value
# (the backslash first, so the others' backslashes are not doubled).
_COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def _copy_rows(columns: dict[str, list], fixed: dict[str, object], count: int) -> None:
    """One COPY of ``count`` rows: ``columns`` vary per row; ``fixed`` and every other field's
    default are the same for all (a callable default is called for each row)."""
    names, varying, constants = _copy_columns(columns, fixed, count)
    converted = [_copy_column(field, values) for field, values in varying]
    if constants:
        # The constants' text is one more "column", the same string on every line.
        converted.append(["\t".join(map(_copy_value, constants))] * count)
    data = "\n".join(map("\t".join, zip(*converted, strict=True))) + "\n"
    table = connection.ops.quote_name(Recipient._meta.db_table)
    # The driver's own cursor, for copy_expert; its errors become Django's (IntegrityError)
    # as through any other query.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.cursor.copy_expert(
            f"COPY {table} ({', '.join(names)}) FROM STDIN", io.StringIO(data)
        )


def _copy_columns(columns: dict[str, list], fixed: dict[str, object], count: int):
    """The column names (varying ones first), the varying columns (field and values), the
    constants."""
    now = timezone.now()
    varying_names, varying, constant_names, constants = [], [], [], []
    for field in Recipient._meta.concrete_fields:
        if field.primary_key or getattr(field, "generated", False):
            continue
        given = field.attname in columns or field.attname in fixed
        if not given and field.db_default is not NOT_PROVIDED:
            continue  # the database fills it
        name = connection.ops.quote_name(field.column)
        per_row = not given and field.has_default() and callable(field.default)
        if field.attname in columns or per_row:
            values = columns.get(field.attname)
            if values is None:
                values = [
                    field.get_db_prep_save(field.get_default(), connection) for _ in range(count)
                ]
            varying_names.append(name)
            varying.append((field, values))
            continue
        if field.attname in fixed:
            value = fixed[field.attname]
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = now
        else:
            value = field.get_default()
        constant_names.append(name)
        constants.append(field.get_db_prep_save(value, connection))
    return varying_names + constant_names, varying, constants


def _copy_column(field: models.Field, values: list) -> list[str]:
    """A column's values in COPY's text, converted the way its field's type (a relation's:
    the type of the key it points at) says, instead of asking each value what it is."""
    kind = field.target_field if field.is_relation else field
    if isinstance(kind, models.CharField | models.TextField):
        return _copy_texts(values)
    if isinstance(kind, models.IntegerField):
        if None in values:
            return ["\\N" if v is None else str(v) for v in values]
        return list(map(str, values))
    return [_copy_value(v) for v in values]


def _copy_texts(values: list) -> list[str]:
    """Texts escaped a whole column at a time: joined by NUL (which no PostgreSQL text can
    hold), escaped by a few C-speed replaces, split again; most columns need none."""
    try:
        joined = "\0".join(values)
    except TypeError:  # a NULL (None) among them
        return [_copy_value(v) for v in values]
    if not any(char in joined for char, _ in _COPY_ESCAPES):
        return values
    if joined.count("\0") != len(values) - 1:
        return [_copy_value(v) for v in values]  # a NUL of its own: COPY will refuse it
    for char, escaped in _COPY_ESCAPES:
        joined = joined.replace(char, escaped)
    return joined.split("\0")


def _copy_value(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, str):
        for char, escaped in _COPY_ESCAPES:
            value = value.replace(char, escaped)
        return value
    raise TypeError(f"cannot COPY a {type(value).__name__} value")
