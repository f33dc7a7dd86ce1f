"""The organization's Messaging Service: set up, keep its sender pool in step with the sending
number, and carry Australia's alphanumeric sender ID.

Every change records its intent in PostgreSQL first, then calls Twilio outside any transaction,
then records the result; ``messaging_service_ensure`` is idempotent and finishes whatever an
earlier attempt left (it is what buying a number, the sweep and the migrate command call):

1. the service exists (created with our inbound and status callback URLs; a create whose
   answer was lost is found again by its friendly name instead of being created twice);
2. the active sending number is in its pool (added before any old number leaves it);
3. numbers released here but still at Twilio (``SendingNumber.provider_cleanup``) are taken
   out of the pool and given back.

With the outbox backend (embedded demo) the provider is local: nothing leaves the app and the
service is ``local``, ready by construction.
"""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from broadcasts.models import MessagingService, SendingNumber
from broadcasts.providers import messaging_provider, sms_provider
from broadcasts.recipients import BroadcastRefused
from broadcasts.selectors import sending_number_active
from smsvoice.locks import try_lock
from smsvoice.models import Organization

logger = logging.getLogger(__name__)
State = MessagingService.State


def messaging_service_of(*, organization: Organization) -> MessagingService | None:
    return MessagingService.objects.for_org(organization).first()


def _intent(organization: Organization) -> MessagingService:
    service, _ = MessagingService.objects.get_or_create(organization=organization)
    return service


def _save(service: MessagingService, **fields) -> None:
    for name, value in fields.items():
        setattr(service, name, value)
    service.save(update_fields=[*fields, "updated_at"])


def _webhook_urls() -> dict[str, str]:
    from django.urls import reverse

    return {
        "inbound_url": settings.SITE_URL + reverse("broadcasts:twilio_sms"),
        "status_callback": settings.SITE_URL + reverse("broadcasts:twilio_status"),
    }


def messaging_service_ensure(*, organization: Organization) -> MessagingService:
    """Bring the organization's service to ready (see the module docstring); a Twilio failure
    is kept in ``last_error`` with the state ``failed``, for the next attempt."""
    # One attempt per organization at a time (two admins, or a click and the sweep): a second
    # one would create a second service at Twilio. The loser returns the row as it stands.
    with try_lock(f"messaging-service-{organization.pk}", timeout=120) as mine:
        if not mine:
            return _intent(organization)
        return _ensure(organization)


def _ensure(organization: Organization) -> MessagingService:
    from broadcasts.providers.twilio import ProviderError

    service = _intent(organization)
    try:
        _created(service)
        _pool_in_step(service, organization)
        _cleanup_released(service, organization)
    except ProviderError as error:
        logger.warning("messaging service of organization %s: %s", organization.pk, error)
        _save(service, state=State.FAILED, last_error=_words(error))
        return service
    ready = State.LOCAL if settings.SMS_BACKEND == "outbox" else State.READY
    if service.pool_number_sid:
        _save(service, state=ready, last_error="")
    return service


def _words(error) -> str:
    return f"Twilio said: {error.message}" + (f" (error {error.code})" if error.code else "")


def _created(service: MessagingService) -> None:
    if service.sid:
        return
    provider = messaging_provider()
    if service.create_attempted_at is not None:
        found = provider.services_named(friendly_name=service.friendly_name)
        if found:
            _save(service, sid=found[0].sid)
            return
    _save(service, create_attempted_at=timezone.now())
    created = provider.service_create(friendly_name=service.friendly_name, **_webhook_urls())
    _save(service, sid=created.sid)


def _pool_in_step(service: MessagingService, organization: Organization) -> None:
    number = sending_number_active(organization=organization)
    if number is None:
        if service.pool_number_sid:
            _save(service, pool_number_sid="", pool_e164="", state=State.PENDING)
        return
    if service.pool_number_sid != number.provider_sid:
        if service.state != State.PENDING:
            _save(service, state=State.PENDING)
        messaging_provider().service_number_add(
            service_sid=service.sid, number_sid=number.provider_sid
        )
        _save(service, pool_number_sid=number.provider_sid, pool_e164=number.e164)
    if number.messaging_service_sid != service.sid:
        SendingNumber.objects.filter(pk=number.pk).update(messaging_service_sid=service.sid)


def _cleanup_released(service: MessagingService, organization: Organization) -> None:
    """Old numbers leave the pool and go back to Twilio only once the new one is in it."""
    for number in SendingNumber.objects.for_org(organization).filter(provider_cleanup=True):
        number_cleanup(number=number, service_sid=service.sid)


def number_cleanup(*, number: SendingNumber, service_sid: str) -> None:
    """Take a released number out of the pool and give it back to Twilio (both idempotent)."""
    from broadcasts.providers.twilio import ProviderError

    if service_sid and number.provider_sid:
        messaging_provider().service_number_remove(
            service_sid=service_sid, number_sid=number.provider_sid
        )
    try:
        sms_provider().number_release(sid=number.provider_sid)
    except ProviderError as error:
        if error.status != 404:
            raise
    SendingNumber.objects.filter(pk=number.pk).update(provider_cleanup=False)


def number_released(*, organization: Organization, number: SendingNumber) -> None:
    """After the organization's number was released here: out of the pool, back to Twilio.
    A failure leaves ``provider_cleanup`` set for the sweep."""
    from broadcasts.providers.twilio import ProviderError

    service = messaging_service_of(organization=organization)
    if service is not None and service.pool_number_sid == number.provider_sid:
        _save(service, pool_number_sid="", pool_e164="", state=State.PENDING)
    try:
        number_cleanup(number=number, service_sid=service.sid if service else "")
    except ProviderError:
        logger.exception("could not release %s (%s) at Twilio", number.e164, number.provider_sid)


def messaging_services_migrate() -> dict[str, int]:
    """Every organization with a sending number gets its service and pool (safe to re-run)."""
    counts = {"organizations": 0, "ready": 0, "failed": 0}
    wanted = Q(sendingnumber__status=SendingNumber.Status.ACTIVE) | Q(
        sendingnumber__provider_cleanup=True
    )
    for organization in Organization.objects.filter(wanted).distinct().order_by("pk"):
        service = messaging_service_ensure(organization=organization)
        counts["organizations"] += 1
        counts["failed" if service.state == State.FAILED else "ready"] += 1
    return counts


SWEEP_LOCK = "messaging-services-sweep"


def messaging_services_sweep() -> dict[str, int]:
    """Beat: finish what failed (services not ready while a number is active, numbers still
    to take out of a pool and release), under a non-blocking lock."""
    with try_lock(SWEEP_LOCK, timeout=600) as mine:
        if not mine:
            return {"locked": 1}
        return _sweep()


def _sweep() -> dict[str, int]:
    unfinished = Q(sendingnumber__status=SendingNumber.Status.ACTIVE) & ~Q(
        messaging_service__state__in=[State.READY, State.LOCAL]
    )
    wanted = unfinished | Q(sendingnumber__provider_cleanup=True)
    counts = {"finished": 0, "failed": 0}
    for organization in Organization.objects.filter(wanted).distinct().order_by("pk"):
        service = messaging_service_ensure(organization=organization)
        counts["failed" if service.state == State.FAILED else "finished"] += 1
    return counts


# --- Australia: the alphanumeric sender ID ---------------------------------------------------


def broadcast_senders(broadcast) -> list[str]:
    """What Twilio shows as `From` for this broadcast's texts: its number and, when its
    service has a sender ID, that ID too (reconciling a lost send must look under both, or a
    text that went out from the sender ID would look unsent and be sent again)."""
    senders = [broadcast.from_e164]
    if broadcast.messaging_service_sid:
        service = MessagingService.objects.filter(
            organization_id=broadcast.organization_id, sid=broadcast.messaging_service_sid
        ).first()
        if service is not None and service.alpha_sender_id:
            senders.append(service.alpha_sender_id)
    return senders

ALPHA_SENDER = re.compile(r"^[A-Za-z0-9]{3,11}$")


def alpha_sender_problem(value: str) -> str | None:
    """Why `value` cannot be a sender ID, in words; None when it can."""
    if not value:
        return "Type the sender ID, 3 to 11 letters and digits (e.g. SunnyGym)."
    if not 3 <= len(value) <= 11:
        return f"A sender ID is 3 to 11 characters; {value!r} has {len(value)}."
    if not ALPHA_SENDER.match(value):
        return "A sender ID holds only letters A-Z and digits 0-9: no spaces or punctuation."
    if not re.search(r"[A-Za-z]", value):
        return "A sender ID needs at least one letter (all digits would look like a number)."
    return None


def alpha_sender_set(
    *, organization: Organization, alpha_sender: str, registered: bool, actor_label: str
) -> MessagingService:
    """Add the ACMA-registered sender ID to the organization's service (Australia only); the
    number stays in the pool as the fallback and where replies and STOP arrive."""
    from broadcasts.providers.twilio import ProviderError

    alpha_sender = alpha_sender.strip()
    if organization.country != Organization.Country.AU:
        raise BroadcastRefused("A sender ID is for Australian organizations only.")
    problem = alpha_sender_problem(alpha_sender)
    if problem:
        raise BroadcastRefused(problem)
    if not registered:
        raise BroadcastRefused(
            "Tick that this sender ID is registered on the ACMA Sender ID Register: from "
            "1 July 2026 carriers mark unregistered sender IDs 'Unverified'."
        )
    service = messaging_service_of(organization=organization)
    if service is None or service.state not in (State.READY, State.LOCAL):
        raise BroadcastRefused("Set up the Messaging Service first (get a sending number).")
    if service.alpha_sender_sid:
        alpha_sender_remove(organization=organization)
        service.refresh_from_db()
    with transaction.atomic():
        _save(
            service,
            alpha_sender_id=alpha_sender,
            alpha_sender_confirmed_at=timezone.now(),
            alpha_sender_confirmed_by=actor_label[:150],
            alpha_sender_sid="",
            alpha_sender_error="",
        )
    try:
        sid = messaging_provider().alpha_sender_add(
            service_sid=service.sid, alpha_sender=alpha_sender
        )
    except ProviderError as error:
        _save(service, alpha_sender_error=_words(error))
        raise BroadcastRefused(f"Twilio did not add the sender ID: {error.message}") from None
    _save(service, alpha_sender_sid=sid)
    return service


def alpha_sender_remove(*, organization: Organization) -> MessagingService | None:
    """Texts go out from the number again (the sender ID leaves the service)."""
    from broadcasts.providers.twilio import ProviderError

    service = messaging_service_of(organization=organization)
    if service is None or not service.alpha_sender_id:
        return service
    if service.alpha_sender_sid:
        try:
            messaging_provider().alpha_sender_remove(
                service_sid=service.sid, sid=service.alpha_sender_sid
            )
        except ProviderError as error:
            _save(service, alpha_sender_error=_words(error))
            raise BroadcastRefused(
                f"Twilio did not remove the sender ID: {error.message}"
            ) from None
    _save(
        service,
        alpha_sender_id="",
        alpha_sender_sid="",
        alpha_sender_confirmed_at=None,
        alpha_sender_confirmed_by="",
        alpha_sender_error="",
    )
    return service
