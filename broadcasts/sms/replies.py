"""Texts that phones send to a sending number: recorded, and STOP / START / HELP answered, with
consent evidence.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Q

from broadcasts.models import (
    InboundMessage,
    Recipient,
    SendingNumber,
)
from broadcasts.sms.keywords import Keyword, keyword_of
from families.models import ConsentEvent, OptOut, PhoneNumber
from families.services import consent_record
from smsvoice.models import Organization

logger = logging.getLogger(__name__)
Status = Recipient.Status


# --- inbound texts: STOP / START / HELP ---


def inbound_sms_handle(*, to_e164: str, from_e164: str, body: str, sid: str = "") -> str | None:
    """Record an inbound text and answer keywords. Returns the reply text, or None."""
    number = (
        SendingNumber.objects.select_related("organization")
        .filter(e164=to_e164, status="active")
        .first()
    )
    keyword = keyword_of(body)
    organization = number.organization if number else None
    InboundMessage.objects.create(
        organization=organization,
        from_e164=from_e164,
        to_e164=to_e164,
        body=body[:2000],
        keyword=keyword.value if keyword else "",
        provider_sid=sid,
    )
    if organization is None or keyword is None:
        return None
    if keyword is Keyword.STOP:
        keyword_opt_out(organization=organization, e164=from_e164, word=body.strip())
        return (
            f"You are unsubscribed from {organization.name} texts and will get no more. "
            "Reply START to subscribe again."
        )
    if keyword is Keyword.START:
        keyword_opt_in(organization=organization, e164=from_e164, word=body.strip())
        return (
            f"You are subscribed to {organization.name} texts again. "
            "Reply STOP to unsubscribe, HELP for help."
        )
    contact = " or ".join(c for c in (organization.contact_phone, organization.contact_email) if c)
    return (
        f"{organization.name}: texts about classes and closures. "
        f"{'Contact ' + contact + '. ' if contact else ''}Reply STOP to unsubscribe."
    )


@transaction.atomic
def keyword_opt_out(*, organization: Organization, e164: str, word: str) -> None:
    OptOut.objects.get_or_create(organization=organization, e164=e164)
    _keyword_consent(organization=organization, e164=e164, opted_in=False, word=word)


@transaction.atomic
def keyword_opt_in(*, organization: Organization, e164: str, word: str) -> None:
    OptOut.objects.for_org(organization).filter(e164=e164).delete()
    _keyword_consent(organization=organization, e164=e164, opted_in=True, word=word)


def _keyword_consent(*, organization: Organization, e164: str, opted_in: bool, word: str) -> None:
    """Every number of the organization with these digits follows the reply; if none is on
    file, the reply is still kept as evidence against the bare number."""
    note = f"Replied {word!r} to the sending number"
    numbers = PhoneNumber.objects.for_org(organization).filter(e164=e164)
    if opted_in:
        numbers = numbers.filter(text_capable=True)
    recorded = False
    for number in numbers.filter(~Q(sms_opt_in=opted_in)):
        consent_record(
            phone_number=number,
            opted_in=opted_in,
            source=ConsentEvent.Source.KEYWORD,
            actor_label=e164,
            note=note,
        )
        recorded = True
    if not recorded:
        ConsentEvent.objects.create(
            organization=organization,
            e164=e164,
            channel=ConsentEvent.Channel.SMS,
            opted_in=opted_in,
            source=ConsentEvent.Source.KEYWORD,
            actor_label=e164,
            note=note,
        )




