"""Delivery status callbacks of texts: kept as they come, applied once, refunding what was not
delivered.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from broadcasts.engine.refund import finish_unsent
from broadcasts.models import (
    DeliveryReceipt,
    Recipient,
)

logger = logging.getLogger(__name__)
Status = Recipient.Status


# --- delivery status callbacks ---

_FINAL_BAD = {"undelivered": Status.UNDELIVERED, "failed": Status.FAILED}


def delivery_status_record(*, sid: str, status: str, error_code: str = "") -> str:
    """Keep the provider's callback, then apply it. Unknown ids are kept and applied later."""
    DeliveryReceipt.objects.create(provider_sid=sid, status=status, error_code=error_code)
    return delivery_status_apply(sid=sid, status=status, error_code=error_code)


def delivery_status_apply(*, sid: str, status: str, error_code: str = "") -> str:
    if status == "delivered":
        moved = Recipient.objects.filter(provider_sid=sid, status=Status.SENT).update(
            status=Status.DELIVERED, finished_at=timezone.now()
        )
        return "delivered" if moved else "ignored"
    if status in _FINAL_BAD:
        recipient = (
            Recipient.objects.select_related("organization").filter(provider_sid=sid).first()
        )
        if recipient is None:
            return "unknown"
        moved = finish_unsent(
            recipient,
            _FINAL_BAD[status],
            from_states=(Status.SENT, Status.SENDING),
            error_code=error_code,
            error_message=_carrier_error(error_code),
        )
        if moved and error_code == "21610":  # the carrier has the number as opted out
            from broadcasts.sms.optouts import carrier_opt_out

            carrier_opt_out(
                organization=recipient.organization, e164=recipient.e164, detail="delivery report"
            )
        return status if moved else "ignored"
    return "ignored"  # queued / sending / sent: nothing new


def _carrier_error(code: str) -> str:
    known = {
        "30003": "Unreachable handset",
        "30004": "Message blocked",
        "30005": "Unknown handset",
        "30006": "Landline or unreachable carrier",
        "30007": "Filtered by the carrier",
        "30008": "Unknown error",
    }
    return known.get(code, f"Carrier error {code}" if code else "Not delivered")


def apply_early_receipts(sids: list[str]) -> None:
    if not sids:
        return
    for receipt in DeliveryReceipt.objects.filter(provider_sid__in=sids).order_by("id"):
        delivery_status_apply(
            sid=receipt.provider_sid, status=receipt.status, error_code=receipt.error_code
        )




