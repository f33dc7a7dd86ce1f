"""One text to one number, sent through the engine as a broadcast of one: the signup message
(``kind="signup"``), a staff member's reply in a conversation (``kind="reply"``), and any other
one-off text. ``Broadcast.selection_kind`` is the kind, so lists can tell them from broadcasts
to a selection.

Like ``broadcast_create``: the broadcast, its one recipient and the debit are written in one
transaction, the engine is woken on commit, and a recipient that is not sent is refunded by
the engine. A broadcast of one is small, so the engine serves it in the priority lane.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import ngettext

from broadcasts.engine.queue import enqueue_dispatch
from broadcasts.models import Broadcast, Recipient
from broadcasts.recipients import BroadcastRefused
from broadcasts.selectors import sending_number_active
from broadcasts.sms import segments
from broadcasts.typed_text import refused_characters_message
from credits.selectors import sending_suspended, sending_suspended_reason
from credits.services import InsufficientCredits, credits_debit
from families.models import Family, OptOut
from smsvoice.models import Organization, StaffMember

# The kinds a broadcast of one can be (``Broadcast.selection_kind``), with the label shown
# where there is no staff member who sent it.
KINDS = {"signup": "Signup message", "reply": "Reply", "single": "Text"}


class CreditsShort(BroadcastRefused):
    """Refused because the balance does not cover the text; nothing was written."""

    def __init__(self, *, needed: int, available: int) -> None:
        self.needed, self.available = needed, available
        needs = ngettext("This text needs %(n)s credit", "This text needs %(n)s credits", needed)
        only = ngettext("only %(n)s is available", "only %(n)s are available", available)
        super().__init__(
            f"{needs % {'n': f'{needed:,}'}} but {only % {'n': f'{available:,}'}}. Buy credits."
        )


def is_single(broadcast: Broadcast) -> bool:
    return broadcast.selection_kind in KINDS


def single_text_create(
    *,
    organization: Organization,
    e164: str,
    text: str,
    kind: str,
    sender: StaffMember | None = None,
    family: Family | None = None,
    staff_member: StaffMember | None = None,
    owner_label: str = "",
) -> Broadcast:
    """Send ``text`` (final: no merge fields are filled) to ``e164``, charged by its parts.

    Refused (BroadcastRefused; CreditsShort when the credits are short), with nothing written
    and nothing charged, when the number replied STOP, sending is suspended or impossible, or
    the text cannot be sent as it is.
    """
    text = text.strip()
    number = _refuse_unsendable(organization, e164, text, kind)
    counted = segments.count_parts(text)
    label = owner_label or (family.name if family else "") or e164
    try:
        with transaction.atomic():
            broadcast = Broadcast.objects.create(
                organization=organization,
                channel=Broadcast.Channel.SMS,
                selection_kind=kind,
                selection={"e164": e164},
                text=text,
                encoding=counted.encoding,
                max_parts=counted.parts,
                sender=sender,
                sender_label=sender.full_name if sender else KINDS[kind],
                from_e164=number.e164,
                lane=Broadcast.Lane.PRIORITY,
                recipient_count=1,
                credits_debited=counted.parts,
            )
            Recipient.objects.create(
                broadcast=broadcast,
                organization=organization,
                e164=e164,
                family=family,
                staff_member=staff_member,
                owner_label=label[:200],
                text=text,
                parts=counted.parts,
                credits=counted.parts,
            )
            credits_debit(
                organization=organization,
                credits=counted.parts,
                reference=broadcast.debit_reference,
                actor=sender.user if sender else None,
                memo=f"{KINDS[kind]} to {e164} (broadcast {broadcast.pk})",
            )
            transaction.on_commit(lambda: enqueue_dispatch(broadcast.pk))
    except InsufficientCredits as short:
        raise CreditsShort(needed=short.needed, available=short.available) from None
    return broadcast


def _refuse_unsendable(organization: Organization, e164: str, text: str, kind: str):
    if kind not in KINDS:
        raise ValueError(f"unknown kind of single text {kind!r}; one of {sorted(KINDS)}")
    if not text:
        raise BroadcastRefused("The text is empty.")
    problem = refused_characters_message(text)
    if problem:
        raise BroadcastRefused(problem)
    if segments.count_parts(text).too_long:
        raise BroadcastRefused(f"The text is longer than {segments.MAX_PARTS} parts.")
    if OptOut.objects.for_org(organization).filter(e164=e164).exists():
        raise BroadcastRefused("This number replied STOP: it gets no texts until it replies START.")
    if sending_suspended(organization=organization):
        raise BroadcastRefused(
            f"Sending is suspended: {sending_suspended_reason(organization=organization)}"
        )
    number = sending_number_active(organization=organization)
    if number is None:
        raise BroadcastRefused(
            "There is no sending number yet: an admin sets one up in Settings > SMS & Voice."
        )
    return number


def single_text_unsent(
    *,
    organization: Organization,
    e164: str,
    text: str,
    kind: str,
    note: str,
    family: Family | None = None,
    staff_member: StaffMember | None = None,
    owner_label: str = "",
) -> Broadcast | None:
    """Keep a text that could not be sent (credits short) as a finished broadcast of one
    with its recipient skipped and ``note`` saying why, charged nothing: staff see on the
    broadcasts list what did not go out. None without a sending number (nothing to show)."""
    number = sending_number_active(organization=organization)
    if number is None:
        return None
    counted = segments.count_parts(text.strip())
    with transaction.atomic():
        broadcast = Broadcast.objects.create(
            organization=organization,
            channel=Broadcast.Channel.SMS,
            status=Broadcast.Status.DONE,
            selection_kind=kind,
            selection={"e164": e164},
            text=text.strip(),
            encoding=counted.encoding,
            max_parts=counted.parts,
            sender_label=KINDS[kind],
            from_e164=number.e164,
            lane=Broadcast.Lane.PRIORITY,
            recipient_count=1,
        )
        Recipient.objects.create(
            broadcast=broadcast,
            organization=organization,
            e164=e164,
            family=family,
            staff_member=staff_member,
            owner_label=(owner_label or e164)[:200],
            text=text.strip(),
            parts=counted.parts,
            status=Recipient.Status.SKIPPED,
            error_message=note[:300],
        )
    Broadcast.objects.filter(pk=broadcast.pk).update(started_at=broadcast.created_at,
                                                      finished_at=broadcast.created_at)
    return broadcast
