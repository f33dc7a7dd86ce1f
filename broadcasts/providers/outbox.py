"""The embedded default's provider: records texts and calls instead of sending them.

It answers like Twilio (an SM… id, status "queued") so everything above it runs as in
production; the Outbox page shows what was "sent" and lets you reply as the phone would.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from broadcasts.models import OutboxMessage, SendingNumber
from broadcasts.providers.twilio import SentMessage


def sms_send(*, to: str, from_: str, body: str, status_callback: str | None = None) -> SentMessage:
    sid = "SM" + secrets.token_hex(16)
    OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.SMS,
        sid=sid,
        from_e164=from_,
        to_e164=to,
        body=body,
        status_callback=status_callback or "",
        status="sent",
    )
    return SentMessage(sid=sid, status="queued", num_segments=None)


def messages_list(*, to: str, from_: str | None, sent_after: datetime) -> list[dict]:
    rows = OutboxMessage.objects.filter(
        kind=OutboxMessage.Kind.SMS, to_e164=to, created_at__gte=sent_after
    )
    if from_:
        rows = rows.filter(from_e164=from_)
    return [
        {"sid": m.sid, "status": m.status, "body": m.body, "date_created": m.created_at}
        for m in rows
    ]


def messages_recent(*, from_: str, created_after: datetime, max_pages: int = 100) -> list[dict]:
    rows = OutboxMessage.objects.filter(
        kind=OutboxMessage.Kind.SMS, from_e164=from_, created_at__gte=created_after
    )
    return [
        {"sid": m.sid, "to": m.to_e164, "body": m.body, "date_created": m.created_at}
        for m in rows[: max_pages * 1000]
    ]


def webhook_signature_valid(*, url: str, params, signature: str) -> bool:
    # Nothing calls the outbox's webhooks from outside: its replies go straight to the service.
    return False


def numbers_search(*, country: str, area_code: str | None = None) -> list:
    """Numbers 'for sale' in the demo: the fictional 555-01XX range of the area code."""
    from broadcasts.providers.twilio import AvailableNumber

    area = area_code or "415"
    taken = set(SendingNumber.objects.values_list("e164", flat=True))
    found = []
    for line in range(100, 200, 7):
        e164 = f"+1{area}555{line:04d}"
        if e164 not in taken:
            found.append(
                AvailableNumber(
                    phone_number=e164,
                    friendly_name=f"({area}) 555-{line:04d}",
                    iso_country=country,
                    locality=None,
                    region=None,
                    sms=True,
                    voice=True,
                )
            )
    return found[:10]


def number_buy(*, phone_number: str, sms_url: str, voice_url: str, status_callback: str):
    from broadcasts.providers.twilio import IncomingNumber

    return IncomingNumber(
        sid="PN" + secrets.token_hex(16),
        phone_number=phone_number,
        sms_url=sms_url,
        voice_url=voice_url,
        status_callback=status_callback,
    )


def number_release(*, sid: str) -> None:
    return None


# --- calls (voice broadcasts): recorded as OutboxMessage(kind=call) ---------------------------


def call_create(
    *,
    to: str,
    from_: str,
    url: str,
    status_callback: str | None = None,
    machine_detection: str | None = None,
    **extra,
):
    """A call 'placed': the Outbox page lists it, and the voice pages can play what would
    happen next (answered, busy…) through the same services as Twilio's callbacks."""
    from broadcasts.providers.twilio import CallInfo

    sid = "CA" + secrets.token_hex(16)
    OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.CALL,
        sid=sid,
        from_e164=from_,
        to_e164=to,
        body=f"Machine detection: {machine_detection}" if machine_detection else "",
        url=url,
        status_callback=status_callback or "",
        status="queued",
    )
    return CallInfo(sid=sid, status="queued", to=to, from_=from_, answered_by=None, duration=None)


def calls_recent(*, from_: str, started_after: datetime, limit: int = 5000) -> list:
    from broadcasts.providers.twilio import CallInfo

    rows = OutboxMessage.objects.filter(
        kind=OutboxMessage.Kind.CALL, from_e164=from_, created_at__gte=started_after
    )[:limit]
    return [
        CallInfo(sid=c.sid, status=c.status, to=c.to_e164, from_=c.from_e164, answered_by=None,
                 duration=None)
        for c in rows
    ]


def call_fetch(*, sid: str):
    from broadcasts.providers.twilio import CallInfo, ProviderError

    call = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.CALL, sid=sid).first()
    if call is None:
        raise ProviderError(f"No call {sid} in the outbox", permanent=True, status=404)
    return CallInfo(
        sid=sid,
        status=call.status,
        to=call.to_e164,
        from_=call.from_e164,
        answered_by=None,
        duration=None,
    )


def call_update(*, sid: str, status: str | None = None, url=None, twiml=None):
    if status:
        OutboxMessage.objects.filter(kind=OutboxMessage.Kind.CALL, sid=sid).update(status=status)
    return call_fetch(sid=sid)
