"""Texts that phones send to a sending number: recorded, and STOP / START / HELP answered, with
consent evidence.
"""

from __future__ import annotations

import logging

from django.db import transaction

from broadcasts.conversations.services import conversation_joins
from broadcasts.models import (
    InboundMessage,
    Recipient,
    SendingNumber,
)
from broadcasts.sms import optouts
from broadcasts.sms.ctia import help_reply_text, stop_reply_text
from broadcasts.sms.keywords import Keyword, keyword_of
from broadcasts.sms.signup import signup_after_opt_in
from families.models import AutoReply, ConsentEvent, OptOut, PhoneNumber
from families.services import consent_record
from smsvoice.models import Organization

logger = logging.getLogger(__name__)
Status = Recipient.Status


# --- inbound texts: STOP / START / HELP ---


@conversation_joins  # each text joins its conversation (issue 13), with the answer given
def inbound_sms_handle(
    *, to_e164: str, from_e164: str, body: str, sid: str = "", provider_answered: bool = False
) -> str | None:
    """Record an inbound text and answer keywords. Returns the reply text, or None.

    ``provider_answered``: Twilio's Advanced Opt-Out (on the Messaging Service) has already
    answered this keyword (the webhook carried OptOutType): the consent change is recorded
    as usual, and no second answer is given."""
    number = (
        SendingNumber.objects.select_related("organization")
        .filter(e164=to_e164, status="active")
        .first()
    )
    keyword = keyword_of(body)
    organization = number.organization if number else None
    inbound = InboundMessage.objects.create(
        organization=organization,
        from_e164=from_e164,
        to_e164=to_e164,
        body=body[:2000],
        keyword=keyword.value if keyword else "",
        provider_sid=sid,
    )
    if organization is None:
        return None
    if keyword is None:  # a revocation in words, an unclear one for staff, or neither
        return optouts.reply_revocation(organization=organization, inbound=inbound)
    if keyword is Keyword.STOP:
        # One confirmation per revocation: a number already on the STOP list gets none.
        if not keyword_opt_out(organization=organization, e164=from_e164, word=body.strip()):
            return None
        answer, kind = stop_reply_text(organization), AutoReply.Kind.STOP
    elif keyword is Keyword.START:
        answer, kind = _start_reply(organization, from_e164, body.strip()), AutoReply.Kind.START
    else:
        answer, kind = help_reply_text(organization), AutoReply.Kind.HELP
    if provider_answered:
        return None
    optouts.auto_reply_record(organization=organization, inbound=inbound, kind=kind, text=answer)
    return answer


def _contact(organization: Organization) -> str:
    return " or ".join(c for c in (organization.contact_phone, organization.contact_email) if c)


def _start_reply(organization: Organization, e164: str, word: str) -> str:
    """START undoes a STOP, and nothing else: a YES from a number that never replied STOP is
    not consent (its owner has not read the texting policy), so it only learns how to opt in."""
    if not OptOut.objects.for_org(organization).filter(e164=e164).exists():
        contact = _contact(organization)
        ask = f"ask {organization.name}" + (f" ({contact})" if contact else "")
        return (
            f"{organization.name}: to get texts, turn them on in the parent portal "
            f"or {ask}. Reply HELP for help."
        )
    if keyword_opt_in(organization=organization, e164=e164, word=word):
        return (
            f"You are subscribed to {organization.name} texts again. "
            "Reply STOP to unsubscribe, HELP for help."
        )
    return (
        f"Your STOP is lifted. To get {organization.name} texts, turn them on in the parent "
        "portal or ask the business. Reply HELP for help."
    )


def keyword_opt_out(*, organization: Organization, e164: str, word: str) -> bool:
    """A STOP keyword: the digits opted out everywhere (``optouts.opt_out_everywhere``).
    Returns whether they were newly put on the STOP list."""
    return optouts.opt_out_everywhere(
        organization=organization,
        e164=e164,
        source=ConsentEvent.Source.KEYWORD,
        words=word,
        note=f"Replied {word!r} to the sending number",
    )


@transaction.atomic
def keyword_opt_in(*, organization: Organization, e164: str, word: str) -> int:
    """Undo a STOP on file: the numbers it turned off come back on; how many did.

    Without a STOP on file nothing changes (0). Only numbers whose last consent event is a
    keyword opt-out are turned back on: a number with these digits that never opted in (a
    second owner, a number added since) stays off, since START restores, it never grants.
    """
    stops = OptOut.objects.for_org(organization).filter(e164=e164)
    if not stops.exists():
        return 0
    restored = 0
    note = f"Replied {word!r} to the sending number"
    for number in _turned_off_by_stop(organization, e164):
        event = consent_record(  # while the STOP is still on file: consent_record checks it
            phone_number=number,
            opted_in=True,
            source=ConsentEvent.Source.KEYWORD,
            actor_label=e164,
            note=note,
        )
        signup_after_opt_in(event)  # on commit, after the STOP is lifted; once for the digits
        restored += 1
    stops.delete()
    if not restored:
        ConsentEvent.objects.create(
            organization=organization,
            e164=e164,
            channel=ConsentEvent.Channel.SMS,
            opted_in=True,
            source=ConsentEvent.Source.KEYWORD,
            actor_label=e164,
            note=note + " (the STOP is lifted; no number of it had opted in)",
        )
    return restored


def _turned_off_by_stop(organization: Organization, e164: str) -> list[PhoneNumber]:
    numbers = PhoneNumber.objects.for_org(organization).filter(
        e164=e164, text_capable=True, sms_opt_in=False
    )
    found = []
    for number in numbers:
        last = (
            ConsentEvent.objects.filter(phone_number=number, channel=ConsentEvent.Channel.SMS)
            .order_by("-created_at", "-id")
            .first()
        )
        # Any revocation START undoes: a STOP, words, a reply staff confirmed, the carrier's.
        if last and not last.opted_in and last.source in optouts.REVOCATION_SOURCES:
            found.append(number)
    return found
