"""Recording what happened to each message of a slice, as the results come in.

Accepted messages: their rows move to ``sent`` in one statement per flush, fenced by the
lease (a row the sweep has taken over is not written), and each gets exactly one audit log
entry. The rest, by what the provider said:

- back-pressure (HTTP 429, Twilio's "too many requests" and "queue full"): not the message's
  fault, so not an attempt — back to pending after Retry-After, the sender slowed down,
  fewer requests in flight for the account;
- the provider's own trouble (5xx, timeouts, refused connections) once it is known that the
  message was not created: not an attempt either — back to pending after a backoff;
- permanent (a bad number, an unsubscribed phone…): failed and refunded, once;
- any other error about the message: one attempt used; back to pending with exponential
  backoff, or failed and refunded when SMS_MAX_ATTEMPTS are used up;
- not sent because the lease ran out first: back to pending, not an attempt.

Ambiguous errors (a timeout or 5xx after the request may have reached the provider) are
resolved by the channel before this runs: found at the provider means sent; not found, an
ordinary retry; no answer, the row stays ``sending`` for the sweep to reconcile.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from broadcasts.engine.lease import Lease, held, lease_release
from broadcasts.engine.refund import finish_unsent
from broadcasts.models import AuditLogEntry, Broadcast, Recipient

logger = logging.getLogger(__name__)
Status = Recipient.Status

BACK_PRESSURE_STATUSES = frozenset({429})
BACK_PRESSURE_CODES = frozenset({20429, 21611})


@dataclass
class Outcome:
    """One message of a slice: accepted (``sid``), refused (``error``), or not tried."""

    broadcast: Broadcast
    recipient: Recipient
    sid: str = ""
    error: Exception | None = None
    unsent: bool = False


@dataclass
class Recorded:
    counts: Counter = field(default_factory=Counter)
    # Seconds the provider asked us to wait (back-pressure), if it did.
    slow_down: float | None = None
    # Seconds until the earliest recipient given back to pending is due again.
    due_in: float | None = None

    def merge(self, other: Recorded) -> None:
        self.counts.update(other.counts)
        self.slow_down = _max(self.slow_down, other.slow_down)
        self.due_in = _min(self.due_in, other.due_in)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def error_details(error: Exception | None) -> tuple[str, str]:
    code = getattr(error, "code", None) or getattr(error, "status", None) or ""
    message = getattr(error, "message", None) or str(error) or error.__class__.__name__
    return str(code), message[:300]


def is_back_pressure(error: Exception | None) -> bool:
    status, code = getattr(error, "status", None), getattr(error, "code", None)
    return status in BACK_PRESSURE_STATUSES or code in BACK_PRESSURE_CODES


def is_transient(error: Exception | None) -> bool:
    """The provider's trouble, not the message's: a 5xx, a timeout, a refused connection."""
    if getattr(error, "permanent", True) or not hasattr(error, "status"):
        return False
    return error.status is None or error.status >= 500


def is_ambiguous(error: Exception | None) -> bool:
    return bool(getattr(error, "ambiguous", False)) and not is_back_pressure(error)


def ambiguous_resolve(
    outcomes: list[Outcome], *, lookup: Callable[[Outcome], str | None], unanswered: type
) -> list[Outcome]:
    """Ask the provider about each ambiguous error (``lookup``: the sid it has for this
    message, or None) before anyone sends again. Found: it was sent. Not found: an ordinary
    retry. No answer (``unanswered`` raised): returned, left ``sending`` for the sweep."""
    unresolved = []
    for outcome in outcomes:
        if outcome.sid or not is_ambiguous(outcome.error):
            continue
        try:
            sid = lookup(outcome)
        except unanswered:
            unresolved.append(outcome)
            continue
        if sid:
            outcome.sid, outcome.error = sid, None
        else:
            outcome.error.ambiguous = False  # it never reached the provider
    return unresolved


def outcomes_settle(
    outcomes: list[Outcome], *, lease: Lease, sent: Callable[[list[Outcome]], int]
) -> Recorded:
    """Write a flush of outcomes (ambiguous ones already resolved by the channel)."""
    recorded = Recorded()
    accepted = [o for o in outcomes if o.sid]
    if accepted:
        recorded.counts["sent"] += sent(accepted)
    unsent = [o.recipient.pk for o in outcomes if o.unsent]
    recorded.counts["unsent"] += lease_release(lease=lease, ids=unsent)
    if unsent:
        recorded.due_in = 0.0
    for outcome in outcomes:
        if outcome.sid or outcome.unsent:
            continue
        recorded.merge(_settle_error(outcome, lease))
    return recorded


def _settle_error(outcome: Outcome, lease: Lease) -> Recorded:
    error, recipient = outcome.error, outcome.recipient
    code, message = error_details(error)
    recorded = Recorded()
    if is_back_pressure(error):
        wait = getattr(error, "retry_after", None)
        wait = settings.ENGINE_BACK_PRESSURE_SECONDS if wait is None else wait
        wait += random.uniform(0, 0.25)
        recorded.counts["back_pressure"] += lease_release(
            lease=lease, ids=[recipient.pk], delay=wait, error_code=code, error_message=message
        )
        recorded.slow_down, recorded.due_in = wait, wait
        return recorded
    if is_transient(error):
        wait = settings.ENGINE_BACK_PRESSURE_SECONDS * random.uniform(1, 3)
        recorded.counts["transient"] += lease_release(
            lease=lease, ids=[recipient.pk], delay=wait, error_code=code, error_message=message
        )
        recorded.slow_down, recorded.due_in = wait / 2, wait
        return recorded
    attempts = recipient.attempts + 1
    if getattr(error, "permanent", False) or attempts >= settings.SMS_MAX_ATTEMPTS:
        failed = finish_unsent(
            recipient,
            Status.FAILED,
            from_states=(Status.SENDING,),
            lease_token=lease.token,
            error_code=code,
            error_message=message,
        )
        recorded.counts["failed"] += int(failed)
        return recorded
    delay = min(2.0**attempts + random.uniform(0, 1), 300)
    delay = max(delay, getattr(error, "retry_after", None) or 0)
    held(lease, [recipient.pk]).update(attempts=F("attempts") + 1)
    recorded.counts["retry"] += lease_release(
        lease=lease, ids=[recipient.pk], delay=delay, error_code=code, error_message=message
    )
    recorded.due_in = delay
    return recorded


def mark_sent(
    recipients: list[Recipient], now, *, lease_token: int | None, audit: bool = False
) -> list[int]:
    """Move these recipients (``provider_sid`` set on each) to sent, only where ``lease_token``
    still holds them (None: any row still ``sending``, for the sweep), and with ``audit`` write
    each one's audit entry. Returns the ids moved.

    On PostgreSQL one statement per thousand rows: ``UPDATE … FROM (VALUES …) RETURNING`` in a
    CTE that the audit entries are inserted from, so neither step builds a model per row."""
    if not recipients:
        return []
    if connection.vendor != "postgresql":
        return _mark_sent_one_by_one(recipients, now, lease_token=lease_token, audit=audit)
    moved = []
    for start in range(0, len(recipients), 1000):
        chunk = recipients[start : start + 1000]
        sql, params = _mark_sent_sql(chunk, now, lease_token=lease_token, audit=audit)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            moved += [row[0] for row in cursor.fetchall()]
    return moved


def _mark_sent_sql(chunk: list[Recipient], now, *, lease_token: int | None, audit: bool):
    table = Recipient._meta.db_table
    values = ", ".join(["(%s, %s)"] * len(chunk))
    fence = "AND r.lease_token = %s" if lease_token is not None else ""
    update = (
        f"UPDATE {table} AS r SET status = %s, sent_at = %s, provider_sid = v.sid, "  # noqa: S608
        f"lease_expires_at = NULL FROM (VALUES {values}) AS v(id, sid) "
        f"WHERE r.id = v.id AND r.status = %s {fence} RETURNING r.*"
    )
    params = [Status.SENT, now, *[x for r in chunk for x in (r.pk, r.provider_sid)]]
    params += [Status.SENDING, *([lease_token] if lease_token is not None else [])]
    if not audit:
        return f"WITH moved AS ({update}) SELECT id FROM moved", params  # noqa: S608
    columns, sources = _audit_columns()
    sql = (
        f"WITH moved AS ({update}) INSERT INTO {AuditLogEntry._meta.db_table} "  # noqa: S608
        f"({', '.join(columns)}) SELECT {', '.join(sources)} FROM moved AS m "
        f"JOIN {Broadcast._meta.db_table} AS b ON b.id = m.broadcast_id RETURNING recipient_id"
    )
    return sql, params


# What an audit entry copies from its broadcast; every other column comes from the recipient.
_FROM_BROADCAST = {"channel", "sender_id", "sender_label"}


def _audit_columns() -> tuple[list[str], list[str]]:
    recipient_columns = {f.column for f in Recipient._meta.concrete_fields}
    columns, sources = [], []
    for f in AuditLogEntry._meta.concrete_fields:
        if f.primary_key:
            continue
        if f.column == "recipient_id":
            source = "m.id"
        elif f.column in _FROM_BROADCAST:
            source = f"b.{f.column}"
        elif f.column in recipient_columns:
            source = f"m.{f.column}"
        else:
            raise LookupError(f"audit column {f.column} has no source: add it to _audit_columns")
        columns.append(f.column)
        sources.append(source)
    return columns, sources


def _mark_sent_one_by_one(recipients, now, *, lease_token, audit: bool) -> list[int]:
    moved = []
    for recipient in recipients:
        rows = Recipient.objects.filter(pk=recipient.pk, status=Status.SENDING)
        if lease_token is not None:
            rows = rows.filter(lease_token=lease_token)
        if rows.update(status=Status.SENT, provider_sid=recipient.provider_sid, sent_at=now):
            moved.append(recipient.pk)
            if audit:
                recipient.sent_at = now
                AuditLogEntry.objects.bulk_create([audit_row(recipient.broadcast, recipient, now)])
    return moved


def sent_with_audit(outcomes: Iterable[Outcome], *, lease_token: int | None) -> list[Outcome]:
    """Record accepted messages: rows to sent and one audit entry each, in one transaction."""
    outcomes = list(outcomes)
    now = timezone.now()
    for outcome in outcomes:
        outcome.recipient.provider_sid, outcome.recipient.sent_at = outcome.sid, now
    with transaction.atomic():
        recipients = [o.recipient for o in outcomes]
        moved = set(mark_sent(recipients, now, lease_token=lease_token, audit=True))
    mine = [o for o in outcomes if o.recipient.pk in moved]
    if len(mine) < len(outcomes):
        logger.warning("%s accepted messages were no longer held", len(outcomes) - len(mine))
    return mine


def audit_row(broadcast: Broadcast, recipient: Recipient, now) -> AuditLogEntry:
    return AuditLogEntry(
        organization_id=broadcast.organization_id,
        broadcast=broadcast,
        recipient=recipient,
        channel=broadcast.channel,
        sender_id=broadcast.sender_id,
        sender_label=broadcast.sender_label,
        e164=recipient.e164,
        family_id=recipient.family_id,
        student_id=recipient.student_id,
        staff_member_id=recipient.staff_member_id,
        owner_label=recipient.owner_label,
        text=recipient.text,
        parts=recipient.parts,
        credits=recipient.credits,
        provider_sid=recipient.provider_sid,
        sent_at=now,
    )


def audit_fields(broadcast: Broadcast, recipient: Recipient, now=None) -> dict:
    """An audit entry's fields, for ``AuditLogEntry.objects.create`` of a single row."""
    row = audit_row(broadcast, recipient, now or recipient.sent_at or timezone.now())
    return {
        f.attname: getattr(row, f.attname)
        for f in AuditLogEntry._meta.concrete_fields
        if f.attname != "id"
    }
