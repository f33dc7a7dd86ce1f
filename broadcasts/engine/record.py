"""Writing what the provider accepted: sent rows in bulk and one audit log entry per message."""

from __future__ import annotations

import logging

from django.db import connection
from django.utils import timezone

from broadcasts.models import (
    AuditLogEntry,
    Broadcast,
    Recipient,
)

logger = logging.getLogger(__name__)
Status = Recipient.Status


def mark_sent(recipients: list[Recipient], now) -> None:
    """One UPDATE ... FROM (VALUES ...) for a whole batch on PostgreSQL: Django's bulk_update
    builds a CASE per row, several times slower at a thousand rows."""
    if not recipients:
        return
    if connection.vendor != "postgresql":
        Recipient.objects.bulk_update(recipients, ["status", "provider_sid", "sent_at"])
        return
    table = Recipient._meta.db_table
    for start in range(0, len(recipients), 1000):
        chunk = recipients[start : start + 1000]
        values = ", ".join(["(%s, %s)"] * len(chunk))
        params = [value for r in chunk for value in (r.pk, r.provider_sid)]
        sql = (
            f"UPDATE {table} AS r SET status = %s, sent_at = %s, provider_sid = v.sid "  # noqa: S608
            f"FROM (VALUES {values}) AS v(id, sid) WHERE r.id = v.id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [Status.SENT, now, *params])




def error_details(error: Exception | None) -> tuple[str, str]:
    code = getattr(error, "code", None) or getattr(error, "status", None) or ""
    message = getattr(error, "message", None) or str(error) or error.__class__.__name__
    return str(code), message[:300]


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




