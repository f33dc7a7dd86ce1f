"""Recipient rows written directly, for the tests of what the database holds them to."""

from broadcasts.models import Broadcast, Recipient


def broadcast_of(org) -> Broadcast:
    return Broadcast.objects.create(
        organization=org, selection_kind="families", sender_label="Jo", from_e164="+14155550100"
    )


def recipient_of(broadcast, **fields) -> Recipient:
    fields = {
        "organization": broadcast.organization,
        "e164": "+12015550123",
        "owner_label": "West — Mother cell",
        **fields,
    }
    return Recipient.objects.create(broadcast=broadcast, **fields)
