"""The SMS channel of the engine: how a text is sent, recorded and reconciled.

- rate: the sending number's messages per second (``SendingNumber.messages_per_second``);
- prepare: a number that texted STOP after the broadcast was created is skipped and refunded;
- send: Twilio's Messages create through the SDK's async client (``MessagingServiceSid``
  when the broadcast goes through a Messaging Service, else ``From``), or the outbox;
- record: accepted texts to ``sent`` with their audit entries; errors as
  ``engine.record`` says; an ambiguous error looked up at Twilio before anyone resends;
- reconcile: recipients whose lease expired, matched in bulk against Twilio's list of the
  number's recent messages (pages of 1,000), instead of one look-up each.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import timedelta
from itertools import groupby

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from broadcasts.engine.channels import channel_register
from broadcasts.engine.lease import Lease, skip_listed
from broadcasts.engine.record import (
    Outcome,
    Recorded,
    ambiguous_resolve,
    outcomes_settle,
    sent_with_audit,
)
from broadcasts.messaging_services import broadcast_senders
from broadcasts.models import Broadcast, Recipient, SendingNumber
from broadcasts.providers import sms_provider
from broadcasts.sms.delivery import apply_early_receipts
from broadcasts.sms.optouts import carrier_opt_out
from families.models import OptOut

logger = logging.getLogger(__name__)
Status = Recipient.Status


def status_callback_url() -> str:
    return settings.SITE_URL + reverse("broadcasts:twilio_status")


class SmsChannel:
    def rate(self, e164: str) -> float:
        mps = (
            SendingNumber.objects.filter(e164=e164, status=SendingNumber.Status.ACTIVE)
            .values_list("messages_per_second", flat=True)
            .first()
        )
        return float(mps or settings.SMS_DEFAULT_MPS)

    def prepare(self, broadcast: Broadcast, claimed: list[Recipient]) -> list[Recipient]:
        return skip_listed(
            claimed,
            opted_out=OptOut.objects.for_org(broadcast.organization),
            reason=Recipient.Reason.UNSUBSCRIBED,
        )

    def sends_inline(self) -> bool:
        return settings.SMS_BACKEND == "outbox"  # the outbox writes to the database itself

    def sender(self):
        callback = status_callback_url()
        if self.sends_inline():
            provider = sms_provider()

            def send_inline(broadcast: Broadcast, recipient: Recipient) -> str:
                return provider.sms_send(
                    to=recipient.e164,
                    from_=broadcast.from_e164,
                    body=recipient.text,
                    status_callback=callback,
                ).sid

            return send_inline
        from broadcasts.providers import twilio

        async def send(broadcast: Broadcast, recipient: Recipient, on_wire=None) -> str:
            reporting = twilio.on_wire.set(on_wire)
            try:
                sent = await twilio.sms_send_async(
                    to=recipient.e164,
                    from_=broadcast.from_e164,
                    messaging_service_sid=broadcast.messaging_service_sid or None,
                    body=recipient.text,
                    status_callback=callback,
                )
            finally:
                twilio.on_wire.reset(reporting)
            return sent.sid

        return send

    def record(self, outcomes: list[Outcome], lease: Lease) -> Recorded:
        from broadcasts.providers.twilio import ProviderError

        unresolved = ambiguous_resolve(
            outcomes, lookup=lambda o: sent_sid(o.broadcast, o.recipient), unanswered=ProviderError
        )
        settled = [o for o in outcomes if o not in unresolved]

        def sent(accepted: list[Outcome]) -> int:
            mine = sent_with_audit(accepted, lease_token=lease.token)
            apply_early_receipts([o.sid for o in mine])
            return len(mine)

        recorded = outcomes_settle(settled, lease=lease, sent=sent)
        carrier_opt_outs(settled)
        # Twilio could not say whether these exist: they stay ``sending`` until their lease
        # expires, and the sweep reconciles them in bulk.
        recorded.counts["unknown"] += len(unresolved)
        return recorded

    def reconcile(self, recipients: list[Recipient]) -> Counter:
        return sms_reconcile(recipients)


def carrier_opt_outs(outcomes: list[Outcome]) -> int:
    """Texts Twilio refused with 21610 (the carrier has the number as opted out): each number
    is recorded as opted out (source carrier), so every later broadcast leaves it out."""
    from broadcasts.providers.twilio import UNSUBSCRIBED

    found = 0
    for outcome in outcomes:
        if outcome.sid or getattr(outcome.error, "code", None) != UNSUBSCRIBED:
            continue
        found += carrier_opt_out(
            organization=outcome.broadcast.organization,
            e164=outcome.recipient.e164,
            detail=f"broadcast {outcome.broadcast.pk}",
        )
    return found


def sent_sid(broadcast: Broadcast, recipient: Recipient) -> str | None:
    since = (recipient.claimed_at or timezone.now()) - timedelta(minutes=1)
    # Through a Messaging Service Twilio shows no From until it has picked a sender (and then
    # perhaps the sender ID): look up by To alone; the body and the time narrow it down.
    from_ = None if broadcast.messaging_service_sid else broadcast.from_e164
    found = sms_provider().messages_list(to=recipient.e164, from_=from_, sent_after=since)
    candidates = {_field(m, "sid") for m in found if _field(m, "body") == recipient.text}
    # A message already recorded for someone else (the same text sent again) is not this one.
    candidates -= set(
        Recipient.objects.filter(provider_sid__in=candidates).values_list("provider_sid", flat=True)
    )
    return min(candidates) if candidates else None


def _field(message, name: str):
    return message[name] if isinstance(message, dict) else getattr(message, name)


# --- the sweep's bulk reconciliation ----------------------------------------------------------


def sms_reconcile(recipients: list[Recipient]) -> Counter:
    """Recipients of one sending number whose lease expired: those Twilio has are sent (with
    their audit entry), the others never left and go back to pending. Each write is fenced by
    the expired lease's token, so a late worker's own write and this one never both land."""
    from broadcasts.providers.twilio import ProviderError

    counts: Counter = Counter()
    if not recipients:
        return counts
    broadcast = recipients[0].broadcast
    since = min(r.claimed_at or timezone.now() for r in recipients) - timedelta(minutes=1)
    try:
        found = [
            message
            for from_ in broadcast_senders(broadcast)
            for message in sms_provider().messages_recent(from_=from_, created_after=since)
        ]
    except ProviderError:
        counts["unreachable"] += len(recipients)
        return counts  # ask again at the next sweep
    sids = defaultdict(list)
    for message in sorted(found, key=lambda m: _field(m, "sid")):
        sids[(_field(message, "to"), _field(message, "body"))].append(_field(message, "sid"))
    every = [sid for group in sids.values() for sid in group]
    recorded = Recipient.objects.filter(provider_sid__in=every)
    taken = set(recorded.values_list("provider_sid", flat=True))
    matched, lost = [], []
    for recipient in recipients:
        free = [s for s in sids.get((recipient.e164, recipient.text), []) if s not in taken]
        if free:
            taken.add(free[0])
            matched.append(Outcome(recipient.broadcast, recipient, sid=free[0]))
        else:
            lost.append(recipient)
    for token, group in groupby(sorted(matched, key=_token), key=_token):
        mine = sent_with_audit(list(group), lease_token=token or None)
        counts["sent"] += len(mine)
        apply_early_receipts([o.sid for o in mine])
    counts["requeued"] += requeue_expired(lost)
    return counts


def _token(outcome: Outcome) -> int:
    return outcome.recipient.lease_token or 0  # 0: a claim of the old engine, without a lease


def requeue_expired(recipients: list[Recipient]) -> int:
    """Back to pending, due now, each only if its expired lease still holds it."""
    moved = 0
    now = timezone.now()
    for token, group in groupby(sorted(recipients, key=lambda r: r.lease_token or 0),
                                key=lambda r: r.lease_token):
        moved += Recipient.objects.filter(
            id__in=[r.pk for r in group], status=Status.SENDING, lease_token=token
        ).update(
            status=Status.PENDING,
            lease_token=None,
            lease_expires_at=None,
            claimed_at=None,
            next_attempt_at=now,
        )
    return moved


channel_register(Broadcast.Channel.SMS, SmsChannel())
