"""The signup message: sent once to a number when it becomes opted in to texts (the parent
portal's Yes, staff with the customer's consent, START after a STOP), and again only after
that number opted out in between.

It is a broadcast of one (``broadcasts.sms.single``, kind ``signup``), so it is charged
through the ledger, refunded if not sent, and in the audit log once the carrier accepts it.
It is a courtesy: it never undoes or blocks the opt-in. It is looked at once the opt-in has
committed; when the credits are short it is kept as a skipped text with a note on the
broadcasts list, and the next opt-in of that number tries again.
"""

from __future__ import annotations

import logging

from django.db import transaction

from broadcasts.models import Recipient
from broadcasts.recipients import BroadcastRefused
from broadcasts.sms import ctia
from broadcasts.sms.single import CreditsShort, single_text_create, single_text_unsent
from families.models import ConsentEvent, PhoneNumber
from smsvoice.models import MessageOptions, Organization

logger = logging.getLogger(__name__)
SIGNUP = "signup"
NOT_SENT = (
    Recipient.Status.FAILED,
    Recipient.Status.UNDELIVERED,
    Recipient.Status.SKIPPED,
    Recipient.Status.EXCLUDED,
)


def signup_after_opt_in(event: ConsentEvent | None) -> None:
    """Call with the event an opt-in recorded (None: nothing changed): once it commits, the
    signup message goes to its number if it is due."""
    if event is None or not event.opted_in or event.channel != ConsentEvent.Channel.SMS:
        return
    phone_number_id = event.phone_number_id
    if phone_number_id is None:
        return
    transaction.on_commit(lambda: signup_send(phone_number_id=phone_number_id))


def signup_due(*, organization: Organization, e164: str) -> bool:
    """No signup message went to these digits since they last opted out (or ever)."""
    last_out = (
        ConsentEvent.objects.for_org(organization)
        .filter(e164=e164, channel=ConsentEvent.Channel.SMS, opted_in=False)
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )
    sent = Recipient.objects.for_org(organization).filter(
        e164=e164, broadcast__selection_kind=SIGNUP
    ).exclude(status__in=NOT_SENT)
    if last_out is not None:
        sent = sent.filter(broadcast__created_at__gt=last_out)
    return not sent.exists()


def signup_send(*, phone_number_id: int) -> str:
    """Send the signup message to an opted-in number if it is due; says what happened
    ("sent", "not due", "short", "refused", "gone")."""
    number = (
        PhoneNumber.objects.select_related("organization", "family", "staff_member")
        .filter(pk=phone_number_id, sms_opt_in=True)
        .first()
    )
    if number is None:
        return "gone"
    organization = number.organization
    ctia.message_options_for(organization)
    try:
        with transaction.atomic():
            # One signup decision at a time per organization: two owners of the same digits
            # opting in together send one message.
            MessageOptions.objects.select_for_update().filter(organization=organization).first()
            if not signup_due(organization=organization, e164=number.e164):
                return "not due"
            single_text_create(**_single(number), text=ctia.signup_text(organization))
    except CreditsShort as short:
        single_text_unsent(
            **_single(number),
            text=ctia.signup_text(organization),
            note=f"Not sent: {short}",
        )
        logger.info("signup message to %s not sent: %s", number.e164, short)
        return "short"
    except BroadcastRefused as refused:
        logger.info("signup message to %s not sent: %s", number.e164, refused)
        return "refused"
    return "sent"


def _single(number: PhoneNumber) -> dict:
    if number.staff_member_id:
        label = f"{number.staff_member.full_name} — {number.label or 'phone'}"
    elif number.family_id:
        label = f"{number.family.name} — {number.field.label if number.field_id else 'phone'}"
    else:
        label = number.e164
    return {
        "organization": number.organization,
        "e164": number.e164,
        "kind": SIGNUP,
        "family": number.family,
        "staff_member": number.staff_member,
        "owner_label": label,
    }
