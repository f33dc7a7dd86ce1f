"""Write paths of conversations: an inbound text joins its conversation, staff move its
status (one function, the model's diagram), and a reply goes out through the engine.

A reply is a broadcast of one (``broadcasts.sms.single.single_text_create``, kind "reply"):
debited in the same transaction, refunded if it is not sent, and in the audit log with the
staff member who wrote it. Nothing here talks to Twilio.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from broadcasts.conversations.models import Conversation, ConversationInbound
from broadcasts.conversations.selectors import (
    header_footer_refusal,
    owners_by_number,
    reply_refusal,
    text_as_sent,
)
from broadcasts.models import Broadcast, InboundMessage
from broadcasts.recipients import BroadcastRefused
from broadcasts.sms import ctia
from families.models import Family
from smsvoice.models import StaffMember

logger = logging.getLogger(__name__)
Status = Conversation.Status
REPLY_KIND = "reply"  # Broadcast.selection_kind of a reply written in a conversation


class MoveRefused(ValueError):
    """A status move the diagram does not allow (or another staff member moved it first)."""


def first_line(text: str, limit: int = 160) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    line = lines[0] if lines else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


# --- inbound texts ---


def conversation_joins(handle: Callable[..., str | None]) -> Callable[..., str | None]:
    """Wraps ``inbound_sms_handle``: the text it recorded joins its conversation, with the
    answer the app gave (STOP, START, HELP). A failure here is logged, never lost: the text
    is recorded and answered whatever happens to its conversation."""

    @wraps(handle)
    def wrapper(*args, **kwargs) -> str | None:
        before = InboundMessage.objects.aggregate(last=Max("id"))["last"] or 0
        answer = handle(*args, **kwargs)
        try:
            inbound = (
                InboundMessage.objects.filter(
                    id__gt=before,
                    from_e164=kwargs.get("from_e164", ""),
                    to_e164=kwargs.get("to_e164", ""),
                    organization__isnull=False,
                )
                .order_by("id")
                .first()
            )
            if inbound is not None:
                conversation_inbound_join(inbound=inbound, answer=answer or "")
        except Exception:  # the text is recorded; its thread must not undo that
            logger.exception("an inbound text could not join its conversation")
        return answer

    return wrapper


@transaction.atomic
def conversation_inbound_join(*, inbound: InboundMessage, answer: str = "") -> Conversation:
    """The text joins the conversation of its number (created if new), which becomes unread."""
    conversation = _conversation_for(inbound)
    ConversationInbound.objects.get_or_create(
        inbound=inbound, defaults={"conversation": conversation, "answer": answer[:2000]}
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        status=Status.UNREAD,
        unread_count=F("unread_count") + 1,
        last_text=first_line(inbound.body),
        last_activity_at=inbound.received_at,
        last_inbound_at=inbound.received_at,
        closed_at=None,
    )
    conversation.refresh_from_db()
    return conversation


def _conversation_for(inbound: InboundMessage) -> Conversation:
    found = Conversation.objects.filter(
        organization_id=inbound.organization_id, e164=inbound.from_e164
    )
    conversation = found.select_for_update().first()
    if conversation is not None:
        return conversation
    try:
        with transaction.atomic():  # two first texts at once: the second finds the first's
            return Conversation.objects.create(
                organization_id=inbound.organization_id,
                e164=inbound.from_e164,
                last_activity_at=inbound.received_at,
            )
    except IntegrityError:
        return found.select_for_update().get()


# --- status ---


def conversation_move(*, conversation: Conversation, to: str, by: StaffMember) -> Conversation:
    """Move the status as staff (the diagram in the model's docstring), or refuse.

    A conditional update on the status it starts from, so two staff members never both make
    the same move; reading it (open) and closing it clear its unread count.
    """
    start = conversation.status
    if start == to:
        return conversation
    if (start, to) not in Conversation.STAFF_MOVES:
        raise MoveRefused(f"A conversation that is {start} cannot be made {to}.")
    now = timezone.now()
    changes: dict = {"status": to}
    if to == Status.OPEN:
        changes.update(unread_count=0, read_at=now, read_by=by, closed_at=None)
    elif to == Status.CLOSED:
        changes.update(unread_count=0, closed_at=now)
    else:
        changes.update(unread_count=1)
    moved = Conversation.objects.filter(pk=conversation.pk, status=start).update(**changes)
    conversation.refresh_from_db()
    if not moved and conversation.status != to:
        raise MoveRefused("Someone changed this conversation meanwhile; look again.")
    return conversation


def conversation_read(*, conversation: Conversation, by: StaffMember) -> Conversation:
    """A staff member opened the thread: unread becomes open; other states stay."""
    if conversation.status != Status.UNREAD:
        return conversation
    try:
        return conversation_move(conversation=conversation, to=Status.OPEN, by=by)
    except MoveRefused:  # a new text or a colleague got there first: it is what it is now
        return conversation


def conversation_assign(*, conversation: Conversation, to: StaffMember | None) -> Conversation:
    Conversation.objects.filter(pk=conversation.pk).update(assignee=to)
    conversation.refresh_from_db()
    return conversation


# --- replies ---


def conversation_reply(
    *,
    conversation: Conversation,
    sender: StaffMember,
    text: str,
    omit_header_footer: bool = False,
) -> Broadcast:
    """Send ``text`` to the conversation's number as ``sender``, with the organization's
    header and footer unless left out where the law allows (BroadcastRefused with the
    reason, nothing written or charged, if the box would refuse it)."""
    refused = reply_refusal(conversation=conversation, staff_member=sender)
    if refused:
        raise BroadcastRefused(refused)
    from broadcasts.sms.single import single_text_create

    if not text.strip():
        raise BroadcastRefused("Type a reply first.")
    if omit_header_footer and not ctia.may_omit(conversation.organization):
        raise BroadcastRefused(header_footer_refusal(conversation.organization))
    organization = conversation.organization
    owners = owners_by_number(organization=organization, e164s=[conversation.e164])
    owners = owners[conversation.e164]
    one = owners[0] if len(owners) == 1 else None
    broadcast = single_text_create(
        organization=organization,
        e164=conversation.e164,
        text=text_as_sent(organization, text.strip(), omit=omit_header_footer),
        kind=REPLY_KIND,
        sender=sender,
        family=Family.objects.filter(pk=one.pk).first() if one and one.kind == "family" else None,
        staff_member=(
            StaffMember.objects.filter(pk=one.pk).first() if one and one.kind == "staff" else None
        ),
        owner_label=", ".join(owner.name for owner in owners),
    )
    updates = {"last_activity_at": timezone.now()}
    if conversation.assignee_id is None:
        updates["assignee"] = sender
    Conversation.objects.filter(pk=conversation.pk).update(**updates)
    conversation.refresh_from_db()
    if conversation.status != Status.OPEN:  # answering is reading it; it was not closed
        conversation = conversation_move(conversation=conversation, to=Status.OPEN, by=sender)
    return broadcast
