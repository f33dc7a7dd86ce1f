"""May this organization text now, on a path carriers accept? The sending-readiness gate.

``sms_refusal`` answers None, or the sentence that refuses an SMS broadcast (the compose
window shows it before anyone types; the API's preview and create say the same). It is the
first failing check of ``readiness_checks``, which is also the checklist admins see on
Settings > SMS & Voice:

- card on file: needed to buy a number and credits, not to send (credits are prepaid), so it
  never refuses a text;
- sending number;
- Messaging Service: ready with the number in its sender pool (the outbox backend's is local,
  ready by construction);
- registration: ``broadcasts.registration.readiness.registration_blocker`` (US 10DLC brand and
  campaign, or toll-free verification); Canada's long codes and Australia's numbers need none,
  and the outbox is approved by construction;
- credits: a zero balance refuses at once (a short balance is the compose window's own
  warning, with the exact figures).

Broadcasts already created when a path stops being approved are not recalled: they keep their
recipients and go out, and any text a carrier then blocks fails with its error and is refunded
by the engine like any other failed message (credits are never lost; staff see the failure on
the broadcast's page).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import ngettext

from broadcasts.messaging_services import messaging_service_of
from broadcasts.models import MessagingService, SendingNumber
from broadcasts.registration.readiness import registration_blocker
from broadcasts.selectors import sending_number_active
from families.phones import phone_display
from smsvoice.models import Organization

SETTINGS = "Settings > SMS & Voice"
State = MessagingService.State


@dataclass(frozen=True)
class Check:
    """One line of the checklist: whether it is done, its state in words, how to fix it, and
    (when it blocks texting) the sentence that refuses a broadcast."""

    key: str
    title: str
    ok: bool
    state: str
    fix_label: str = ""
    fix_url: str = ""
    refusal: str = ""

    @property
    def blocks_sending(self) -> bool:
        return not self.ok and bool(self.refusal)


def _url(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return reverse("credits:sms_voice_settings")


def card_check(organization: Organization) -> Check:
    from credits.selectors import credit_account

    account = credit_account(organization=organization)
    if account is not None and account.has_card:
        state = f"{account.card_brand.title()} ending {account.card_last4}."
        return Check("card", "Card on file", True, state)
    return Check(
        "card",
        "Card on file",
        False,
        "No card yet: it pays for the sending number and credits (texts themselves use "
        "prepaid credits).",
        "Put a card on file",
        _url("credits:card"),
    )


def number_check(number: SendingNumber | None) -> Check:
    url = _url("broadcasts:sending_number")
    if number is not None:
        state = f"{phone_display(number.e164)}: texts go out from it and replies come back to it."
        return Check("number", "Sending number", True, state)
    return Check(
        "number",
        "Sending number",
        False,
        "No sending number yet.",
        "Get a sending number",
        url,
        f"There is no sending number yet: an admin sets one up in {SETTINGS}.",
    )


def service_check(
    organization: Organization, number: SendingNumber | None, service: MessagingService | None
) -> Check:
    title, fix = "Messaging Service", _url("broadcasts:messaging_service")
    if settings.SMS_BACKEND == "outbox":
        return Check(
            "service",
            title,
            True,
            "Local (demo): texts are recorded in the Outbox; nothing is set up at Twilio.",
        )
    if number is None:
        return Check("service", title, False, "Set up with your sending number.")
    ready = (
        service is not None
        and service.state == State.READY
        and service.pool_number_sid == number.provider_sid
    )
    if ready:
        state = f"Ready: {phone_display(number.e164)} is in its sender pool."
        return Check("service", title, True, state)
    if service is not None and service.state == State.FAILED:
        state = f"Setting it up failed: {service.last_error}"
    else:
        state = "Being set up: your number is not in its sender pool yet."
    return Check(
        "service",
        title,
        False,
        state,
        "Try again",
        fix,
        "Texting is not set up yet: the Messaging Service that carries your texts is not "
        f"ready. An admin finishes it in {SETTINGS}.",
    )


def registration_check(organization: Organization) -> Check:
    title = "Carrier registration"
    if organization.country == Organization.Country.CA:
        return Check(
            "registration", title, True, "Canadian long codes need no carrier registration."
        )
    if organization.country == Organization.Country.AU:
        return Check(
            "registration",
            title,
            True,
            "Australian numbers need no carrier registration; a sender ID (below) is optional "
            "and must be on the ACMA Sender ID Register.",
        )
    if settings.SMS_BACKEND == "outbox":
        return Check("registration", title, True, "Approved (demo: the Outbox sends nothing).")
    blocker = registration_blocker(organization=organization)
    if blocker is None:
        return Check("registration", title, True, "Approved by US carriers.")
    return Check(
        "registration",
        title,
        False,
        blocker,
        "Register with carriers",
        _url("broadcasts:registration"),
        blocker,
    )


def credits_check(organization: Organization) -> Check:
    from credits.selectors import credits_balance

    balance = credits_balance(organization=organization)
    url = _url("credits:buy")
    if balance > 0:
        state = ngettext("%(n)s credit.", "%(n)s credits.", balance) % {"n": f"{balance:,}"}
        return Check("credits", "Credits", True, state)
    return Check(
        "credits",
        "Credits",
        False,
        "No credits left.",
        "Buy credits",
        url,
        f"There are no credits left: an admin buys credits in {SETTINGS}.",
    )


def readiness_checks(*, organization: Organization) -> list[Check]:
    number = sending_number_active(organization=organization)
    service = messaging_service_of(organization=organization)
    return [
        card_check(organization),
        number_check(number),
        service_check(organization, number, service),
        registration_check(organization),
        credits_check(organization),
    ]


def sms_refusal(*, organization: Organization) -> str | None:
    """The sentence that refuses an SMS broadcast now, or None when texting may go ahead."""
    number = sending_number_active(organization=organization)
    checks = (
        lambda: number_check(number),
        lambda: service_check(
            organization, number, messaging_service_of(organization=organization)
        ),
        lambda: registration_check(organization),
        lambda: credits_check(organization),
    )
    for check in checks:
        found = check()
        if found.blocks_sending:
            return found.refusal
    return None


def sends_without_reply_path(organization: Organization) -> bool:
    """Whether this organization's texts may arrive from a sender nobody can reply to (an
    Australian alphanumeric sender ID): then every text must carry the opt-out footer."""
    if organization.country != Organization.Country.AU:
        return False
    service = messaging_service_of(organization=organization)
    return service is not None and service.alpha_sender_active
