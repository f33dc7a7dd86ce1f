"""Who a broadcast reaches, shared by every channel: the refusal raised when nobody (or nothing)
can be sent, and the recipient rows written for a plan.
"""

from __future__ import annotations

import logging

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



def recipient_row(broadcast: Broadcast, planned, **fields) -> Recipient:
    """An unsaved Recipient for a planned number (to bulk-create), with extra ``fields``."""
    return Recipient(
        broadcast=broadcast,
        organization_id=broadcast.organization_id,
        e164=planned.e164,
        family_id=planned.family_id,
        student_id=planned.student_id,
        staff_member_id=planned.staff_member_id,
        owner_label=planned.owner_label[:200],
        **fields,
    )



