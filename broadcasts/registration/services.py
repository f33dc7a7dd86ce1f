"""Write paths of texting registration: save the admin's answers, submit them to Twilio, follow
what Twilio decides, resubmit after a fix.

A2P 10DLC goes one step at a time, each started when the one before is approved (by
``registration_advance``, which the refresh task and status callbacks call): the Trust Hub
profile (submitted by the admin) → the brand → the campaign on the Messaging Service. A
toll-free number has one step, its verification.

Money: the one-time fees are debited in credits when the admin submits (see
``broadcasts.registration.fees``), in the same transaction that records the submission;
Twilio is called after it commits, and a request Twilio refuses at once is refunded. An
approved campaign's monthly fee is debited once per calendar month by the scheduled refresh
(``campaign_fees_charge``); short of credits, it is tried again on the next run.

Every status change goes through ``step_move`` (a conditional update on the status the step
had, so a callback and a refresh racing each other change it once) and emails the admins.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from types import ModuleType

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from broadcasts.providers.twilio import ProviderError
from broadcasts.registration import fees, selectors
from broadcasts.registration.models import RegistrationStep, TextingRegistration
from credits.models import LedgerEntry
from credits.services import (
    InsufficientCredits,
    account_for_update,
    credits_debit,
    credits_refund,
)
from smsvoice.locks import try_lock
from smsvoice.models import Organization, StaffMember

logger = logging.getLogger(__name__)
Step = RegistrationStep
Status = RegistrationStep.Status

# Twilio's status words → our step status (anything else leaves the step as it is).
TWILIO_STATUSES = {
    "draft": Status.DRAFT,
    "pending-review": Status.SUBMITTED,
    "in-review": Status.IN_REVIEW,
    "twilio-approved": Status.APPROVED,
    "twilio-rejected": Status.FAILED,
    "PENDING": Status.SUBMITTED,
    "IN_REVIEW": Status.IN_REVIEW,
    "IN_PROGRESS": Status.IN_REVIEW,
    "APPROVED": Status.APPROVED,
    "VERIFIED": Status.APPROVED,
    "FAILED": Status.FAILED,
    "SUSPENDED": Status.FAILED,
    "PENDING_REVIEW": Status.SUBMITTED,
    "TWILIO_APPROVED": Status.APPROVED,
    "TWILIO_REJECTED": Status.FAILED,
}


SENDING = "sending"  # provider_status while a create is on its way to Twilio (the intent)


class RegistrationRefused(Exception):
    """The request cannot be carried out as asked; the message says why in plain words."""


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    provider_status: str = ""
    errors: tuple[tuple[int | None, str], ...] = ()


def registration_provider() -> ModuleType:
    if settings.SMS_BACKEND == "outbox":
        from broadcasts.providers import outbox_registration

        return outbox_registration
    from broadcasts.providers import twilio_registration

    return twilio_registration


# --- answers -----------------------------------------------------------------------------------


def registration_get(*, organization: Organization) -> TextingRegistration:
    registration, _ = TextingRegistration.objects.get_or_create(organization=organization)
    return registration


def answers_save(*, organization: Organization, **answers: dict) -> TextingRegistration:
    """Store validated answers (``business=``, ``campaign=``, ``tollfree=``) as the draft."""
    registration = registration_get(organization=organization)
    for name, value in answers.items():
        setattr(registration, name, dict(value))
    registration.save()
    return registration


def step_get(*, organization: Organization, kind: str) -> RegistrationStep:
    step, _ = Step.objects.get_or_create(organization=organization, kind=kind)
    return step


# --- the one way a status changes ---------------------------------------------------------------


def step_move(step: RegistrationStep, outcome: Outcome) -> bool:
    """Move ``step`` to ``outcome.status`` if the state machine allows it (see the model).
    True when it changed; a move to the status it has already only records what Twilio said."""
    now = timezone.now()
    code, text = _first_error(outcome.errors)
    fields: dict = {"checked_at": now, "provider_status": outcome.provider_status[:40]}
    if outcome.status == step.status:
        Step.objects.filter(pk=step.pk).update(**fields)
        return False
    if outcome.status not in Step.MOVES[step.status]:
        logger.warning(
            "registration step %s: no move %s -> %s", step.pk, step.status, outcome.status
        )
        return False
    fields.update(status=outcome.status, status_changed_at=now)
    if outcome.status == Status.FAILED:
        fields.update(error_code=code, error_text=text)
    elif outcome.status == Status.SUBMITTED:
        fields.update(submitted_at=now, error_code=None, error_text="")
    changed = Step.objects.filter(pk=step.pk, status=step.status).update(**fields)
    if not changed:
        return False
    previous = step.status
    for name, value in fields.items():
        setattr(step, name, value)
    transaction.on_commit(lambda: admins_notify(step=step, previous=previous))
    return True


def _first_error(errors: Iterable[tuple[int | None, str]]) -> tuple[int | None, str]:
    for code, text in errors:
        return code, text[:2000]
    return None, ""


def outcome_of(info) -> Outcome:
    status = TWILIO_STATUSES.get(info.status)
    return Outcome(status=status or "", provider_status=info.status or "", errors=info.errors)


def admins_notify(*, step: RegistrationStep, previous: str) -> None:
    """Email the organization's admins that a step changed (what it is now, what to do)."""
    from broadcasts.registration.errors import fix_for

    organization = step.organization
    recipients = selectors.admins_of(organization=organization)
    if not recipients:
        return
    what = f"{step.get_kind_display()}: {step.get_status_display().lower()}"
    lines = [
        f"The texting registration of {organization.name} changed.",
        "",
        f"{step.get_kind_display()}: {Status(previous).label} → {step.get_status_display()}.",
    ]
    fix = fix_for(step)
    if fix is not None:
        code = f" (Twilio error {fix.code})" if fix.code else ""
        lines += ["", f"Why{code}: {fix.what}", f"What to change: {fix.change}"]
    lines += ["", f"See it: {settings.SITE_URL}{reverse('broadcasts:registration')}"]
    send_mail(
        f"Texting registration — {what}",
        "\n".join(lines),
        None,
        recipients,
        fail_silently=True,
    )


# --- submitting ------------------------------------------------------------------------------


def _debit(*, organization: Organization, cents: int, reference: str, actor, memo: str) -> int:
    credits = fees.credits_for(organization=organization, cents=cents) if cents else 0
    if credits:
        try:
            credits_debit(
                organization=organization,
                credits=credits,
                reference=reference,
                actor=getattr(actor, "user", None),
                memo=memo,
            )
        except InsufficientCredits as exc:
            raise RegistrationRefused(
                f"The registration fees are {credits:,} credits and the balance is "
                f"{exc.available:,}: buy credits first (Settings > SMS & Voice > Buy credits)."
            ) from exc
    return credits


def _refund(*, organization: Organization, credits: int, reference: str) -> None:
    if credits:
        credits_refund(
            organization=organization,
            credits=credits,
            reference=reference,
            memo="Twilio refused the registration request",
        )


def _us_only(organization: Organization) -> None:
    if organization.country != Organization.Country.US:
        raise RegistrationRefused(
            f"Numbers in {organization.get_country_display()} need no US carrier registration."
        )


def tenlc_submit(*, organization: Organization, actor: StaffMember) -> RegistrationStep:
    """Submit the business (Trust Hub) for review and charge the registration's fees; the brand
    and campaign follow as each step is approved."""
    _us_only(organization)
    registration = registration_get(organization=organization)
    business, campaign = registration.business, registration.campaign
    if not business or not campaign:
        raise RegistrationRefused("Fill in and save the business and the campaign first.")
    cents = sum(f.cents for f in fees.tenlc_fees(brand_kind=business["brand_kind"], use_case=""))
    # One reference per attempt: an attempt Twilio refuses is refunded, each exactly once.
    reference = f"registration:{organization.pk}:10dlc:{uuid.uuid4().hex[:12]}"
    with transaction.atomic():
        step = Step.objects.select_for_update().get(
            pk=step_get(organization=organization, kind=Step.Kind.PROFILE).pk
        )
        if step.status != Status.DRAFT or _claimed(step):
            raise RegistrationRefused("The registration is already submitted.")
        step.provider_status = SENDING  # a second click waits for the row, then sees this
        step.checked_at = timezone.now()
        credits = _debit(
            organization=organization,
            cents=cents,
            reference=reference,
            actor=actor,
            memo="US carrier registration (A2P 10DLC): brand and campaign fees",
        )
        step.fee_cents = cents
        step.save(update_fields=["fee_cents", "provider_status", "checked_at"])
        for kind in (Step.Kind.BRAND, Step.Kind.CAMPAIGN):
            step_get(organization=organization, kind=kind)
    try:
        _profile_send(step, registration)
    except ProviderError as error:
        # A leftover draft profile at Twilio costs nothing; the admin submits again.
        Step.objects.filter(pk=step.pk).update(provider_status="")
        _refund(organization=organization, credits=credits, reference=reference)
        _refused_at_once(step, error)
    registration_advance(organization=organization)
    return step


CLAIM_STALE = timedelta(minutes=10)


def _claimed(step: RegistrationStep) -> bool:
    """Another request is submitting this step right now (a claim older than CLAIM_STALE
    belongs to a process that died before Twilio answered, and is taken over)."""
    if step.provider_status != SENDING or step.checked_at is None:
        return False
    return timezone.now() - step.checked_at < CLAIM_STALE


def _refused_at_once(step: RegistrationStep, error: ProviderError) -> None:
    """Twilio said no to the request itself (before any review): the step stays a draft, the
    fees are refunded by the caller, and the admin sees Twilio's reason on the form, fixes the
    answers and submits again."""
    if error.permanent:
        raise RegistrationRefused(
            f"Twilio refused it: {error.message}. Nothing was charged; correct the answers "
            "and submit again."
        ) from error
    raise RegistrationRefused(
        "Twilio could not be reached just now; nothing was charged. Try again in a minute."
    ) from error


def _profile_send(step: RegistrationStep, registration: TextingRegistration) -> None:
    business = registration.business
    organization = registration.organization
    sole = business["brand_kind"] == "sole_proprietor"
    info = registration_provider().profile_submit(
        name=business["legal_name"],
        email=business["contact_email"],
        business=business_attributes(business),
        address=address_of(business),
        representative=representative_attributes(business),
        a2p=a2p_attributes(business),
        sole_proprietor=sole,
        status_callback=settings.SITE_URL + reverse("broadcasts:registration_callback"),
        ids=step.provider_ids,
    )
    Step.objects.filter(pk=step.pk).update(provider_sid=info.sid, provider_ids=info.ids)
    step.provider_sid, step.provider_ids = info.sid, info.ids
    step_move(step, Outcome(Status.SUBMITTED, provider_status=info.status))
    _follow(step, info)
    logger.info("registration of organization %s: profile %s submitted", organization.pk, info.sid)


def business_attributes(business: dict) -> dict:
    sole = business["brand_kind"] == "sole_proprietor"
    attributes = {
        "business_name": business["legal_name"],
        "business_identity": "direct_customer",
        "business_industry": "EDUCATION",
        "business_regions_of_operation": "USA_AND_CANADA",
        "website_url": business["website"],
    }
    if not sole:
        attributes.update(
            business_type=business["business_type"],
            business_registration_identifier="EIN",
            business_registration_number=business["ein"],
        )
    return attributes


def address_of(business: dict) -> dict:
    return {
        "street": business["street"],
        "city": business["city"],
        "region": business["state"],
        "postal_code": business["postal_code"],
        "iso_country": "US",
    }


def representative_attributes(business: dict) -> dict:
    return {
        "first_name": business["contact_first_name"],
        "last_name": business["contact_last_name"],
        "email": business["contact_email"],
        "phone_number": business["contact_phone"],
        "business_title": business["contact_title"],
        "job_position": "Director",
    }


def a2p_attributes(business: dict) -> dict:
    """The A2P messaging profile: a school is a private company or a non-profit."""
    non_profit = business.get("business_type") == "Non-profit Corporation"
    return {"company_type": "non-profit" if non_profit else "private"}


def _intent(step: RegistrationStep, find) -> object | None:
    """Record that a create is about to be sent; if an earlier one was sent and its answer
    lost (``sending`` still recorded), first ask Twilio whether it exists, so a timeout never
    registers (and pays for) a brand or campaign twice. Returns what Twilio has, or None."""
    if step.provider_status == SENDING:
        found = find()
        if found is not None:
            return found
    Step.objects.filter(pk=step.pk).update(provider_status=SENDING)
    step.provider_status = SENDING
    return None


def _brand_send(step: RegistrationStep, profile: RegistrationStep) -> None:
    kind = registration_get(organization=step.organization).business["brand_kind"]
    provider = registration_provider()
    info = _intent(
        step, lambda: provider.brand_find(customer_profile_sid=profile.provider_sid)
    ) or provider.brand_create(
        customer_profile_sid=profile.provider_sid,
        a2p_profile_sid=profile.provider_ids.get("trust_product", ""),
        brand_type="SOLE_PROPRIETOR" if kind == "sole_proprietor" else "STANDARD",
        skip_secondary_vetting=kind != "standard",
    )
    Step.objects.filter(pk=step.pk).update(provider_sid=info.sid)
    step.provider_sid = info.sid
    step_move(step, Outcome(Status.SUBMITTED, provider_status=info.status))
    _follow(step, info)


def campaign_fields(*, organization: Organization) -> dict:
    """The Compliance/Usa2p request, from the saved answers and the app's real replies."""
    registration = registration_get(organization=organization)
    campaign = registration.campaign
    replies = selectors.app_replies(organization=organization)
    sole = registration.business.get("brand_kind") == "sole_proprietor"
    return {
        "description": campaign["description"],
        "message_flow": campaign["message_flow"],
        "message_samples": [campaign["sample_1"], campaign["sample_2"]],
        "us_app_to_person_usecase": "SOLE_PROPRIETOR" if sole else campaign["use_case"],
        "has_embedded_links": bool(campaign.get("has_embedded_links")),
        "has_embedded_phone": bool(campaign.get("has_embedded_phone")),
        "opt_in_message": replies.opt_in_message,
        "opt_out_message": replies.opt_out_message,
        "help_message": replies.help_message,
        "opt_in_keywords": replies.opt_in_keywords,
        "opt_out_keywords": replies.opt_out_keywords,
        "help_keywords": replies.help_keywords,
        "subscriber_opt_in": True,
        "age_gated": False,
        "direct_lending": False,
    }


def _campaign_send(step: RegistrationStep, brand: RegistrationStep) -> None:
    organization = step.organization
    service = selectors.messaging_service_sid(organization=organization)
    if not service:
        # The Messaging Service is still being set up: the next refresh tries again.
        Step.objects.filter(pk=step.pk).update(provider_status="waiting for messaging service")
        return
    provider = registration_provider()
    info = _intent(
        step, lambda: provider.campaign_find(messaging_service_sid=service)
    ) or provider.campaign_create(
        messaging_service_sid=service,
        brand_sid=brand.provider_sid,
        fields=campaign_fields(organization=organization),
    )
    ids = {"messaging_service": service}
    Step.objects.filter(pk=step.pk).update(provider_sid=info.sid, provider_ids=ids)
    step.provider_sid, step.provider_ids = info.sid, ids
    step_move(step, Outcome(Status.SUBMITTED, provider_status=info.status))
    _follow(step, info)


def _follow(step: RegistrationStep, info) -> None:
    """Record what Twilio's answer already says beyond "submitted" (e.g. in review)."""
    outcome = outcome_of(info)
    if outcome.status and outcome.status != Status.SUBMITTED:
        step_move(step, outcome)


def tollfree_fields(*, organization: Organization) -> dict:
    registration = registration_get(organization=organization)
    business, tollfree = registration.business, registration.tollfree
    replies = selectors.app_replies(organization=organization)
    sole = business["brand_kind"] == "sole_proprietor"
    fields = {
        "business_name": business["legal_name"],
        "business_website": business["website"],
        "notification_email": business["contact_email"],
        "use_case_categories": [tollfree["use_case_category"]],
        "use_case_summary": tollfree["use_case_summary"],
        "production_message_sample": tollfree["sample"],
        "opt_in_image_urls": [tollfree["opt_in_url"]],
        "opt_in_type": tollfree["opt_in_type"],
        "message_volume": tollfree["message_volume"],
        "tollfree_phone_number_sid": selectors.tollfree_number_sid(organization=organization),
        "business_street_address": business["street"],
        "business_city": business["city"],
        "business_state_province_region": business["state"],
        "business_postal_code": business["postal_code"],
        "business_country": "US",
        "business_contact_first_name": business["contact_first_name"],
        "business_contact_last_name": business["contact_last_name"],
        "business_contact_email": business["contact_email"],
        "business_contact_phone": business["contact_phone"],
        "business_type": "SOLE_PROPRIETOR" if sole else _tollfree_business_type(business),
        "opt_in_confirmation_message": replies.opt_in_message,
        "help_message_sample": replies.help_message,
        "age_gated_content": False,
        "external_reference_id": f"organization-{organization.pk}",
    }
    if not sole:
        fields.update(
            business_registration_number=business["ein"],
            business_registration_authority="EIN",
            business_registration_country="US",
        )
    return fields


def _tollfree_business_type(business: dict) -> str:
    return (
        "NON_PROFIT"
        if business.get("business_type") == "Non-profit Corporation"
        else "PRIVATE_PROFIT"
    )


def tollfree_submit(*, organization: Organization, actor: StaffMember) -> RegistrationStep:
    _us_only(organization)
    registration = registration_get(organization=organization)
    if not registration.business or not registration.tollfree:
        raise RegistrationRefused("Fill in and save the business and the toll-free details first.")
    if not selectors.tollfree_number_sid(organization=organization):
        raise RegistrationRefused("Toll-free verification needs a toll-free sending number.")
    step = step_get(organization=organization, kind=Step.Kind.TOLLFREE)
    if step.status != Status.DRAFT:
        raise RegistrationRefused("The toll-free verification is already submitted.")
    fields = tollfree_fields(organization=organization)
    provider = registration_provider()
    number = fields["tollfree_phone_number_sid"]
    try:
        info = _intent(
            step, lambda: provider.tollfree_find(tollfree_phone_number_sid=number)
        ) or provider.tollfree_create(fields=fields)
    except ProviderError as error:
        if not error.ambiguous:
            Step.objects.filter(pk=step.pk).update(provider_status="")
        _refused_at_once(step, error)
    Step.objects.filter(pk=step.pk).update(provider_sid=info.sid)
    step.provider_sid = info.sid
    step_move(step, Outcome(Status.SUBMITTED, provider_status=info.status))
    _follow(step, info)
    return step


# --- following Twilio ------------------------------------------------------------------------


def step_refresh(step: RegistrationStep) -> bool:
    """Ask Twilio where a submitted step is; True when its status changed."""
    provider = registration_provider()
    if not step.provider_sid:
        return False
    if step.kind == Step.Kind.PROFILE:
        info = provider.profile_fetch(
            sid=step.provider_sid, trust_product_sid=step.provider_ids.get("trust_product", "")
        )
    elif step.kind == Step.Kind.BRAND:
        info = provider.brand_fetch(sid=step.provider_sid)
    elif step.kind == Step.Kind.CAMPAIGN:
        info = provider.campaign_fetch(
            messaging_service_sid=step.provider_ids.get("messaging_service", ""),
            sid=step.provider_sid,
        )
    else:
        info = provider.tollfree_fetch(sid=step.provider_sid)
    outcome = outcome_of(info)
    if not outcome.status:
        return False
    return step_move(step, outcome)


def registration_advance(*, organization: Organization) -> int:
    """Start the next 10DLC step once the one before is approved; returns how many started."""
    steps = selectors.steps_of(organization=organization)
    started = 0
    chain = (
        (Step.Kind.PROFILE, Step.Kind.BRAND, _brand_send),
        (Step.Kind.BRAND, Step.Kind.CAMPAIGN, _campaign_send),
    )
    for before, kind, send in chain:
        prior, step = steps.get(before), steps.get(kind)
        if prior is None or step is None or prior.status != Status.APPROVED:
            continue
        if step.status != Status.DRAFT:
            continue
        try:
            send(step, prior)
        except ProviderError as error:
            logger.warning("registration %s of organization %s: %s", kind, organization.pk, error)
            if error.permanent:
                step_move(step, Outcome(Status.FAILED, errors=((error.code, error.message),)))
            continue
        started += step.status != Status.DRAFT
    return started


def registration_refresh(*, organization: Organization) -> dict[str, int]:
    """Refresh every waiting step of one organization, then start what became possible."""
    counts = {"checked": 0, "changed": 0, "errors": 0}
    for step in Step.objects.for_org(organization).filter(
        status__in=[Status.SUBMITTED, Status.IN_REVIEW]
    ):
        counts["checked"] += 1
        try:
            counts["changed"] += step_refresh(step)
        except ProviderError as error:
            counts["errors"] += 1
            logger.warning("refresh of registration step %s: %s", step.pk, error)
    counts["started"] = registration_advance(organization=organization)
    return counts


LOCK_NAME = "registration-refresh"


def registrations_refresh() -> dict[str, int]:
    """Beat: every organization with a step still waiting on Twilio or ready to start the next
    one, under a non-blocking lock (a second run while one is going returns ``locked``)."""
    with try_lock(LOCK_NAME, timeout=600) as mine:
        if not mine:
            return {"locked": 1}
        return _registrations_refresh()


def _registrations_refresh() -> dict[str, int]:
    waiting = Step.objects.filter(status__in=[Status.SUBMITTED, Status.IN_REVIEW])
    ready = Step.objects.filter(
        kind__in=[Step.Kind.PROFILE, Step.Kind.BRAND], status=Status.APPROVED
    )
    org_ids = set(waiting.values_list("organization_id", flat=True))
    org_ids |= set(ready.values_list("organization_id", flat=True))
    totals = {"organizations": 0, "checked": 0, "changed": 0, "errors": 0, "started": 0}
    for organization in Organization.objects.filter(pk__in=org_ids).order_by("pk"):
        totals["organizations"] += 1
        for name, value in registration_refresh(organization=organization).items():
            totals[name] += value
    totals.update(campaign_fees_charge())
    return totals


def campaign_use_case(*, organization: Organization) -> str:
    registration = registration_get(organization=organization)
    if registration.business.get("brand_kind") == "sole_proprietor":
        return "SOLE_PROPRIETOR"
    return registration.campaign.get("use_case", "LOW_VOLUME")


def campaign_fee_charge(*, organization: Organization, period: date) -> bool | None:
    """Debit this month's campaign fee once (True), or say it was already paid (False) or
    could not be paid for want of credits (None: the next run tries again). The account row
    lock makes the check and the debit one step, whoever else runs at the same moment."""
    reference = fees.campaign_fee_reference(organization=organization, period=period)
    fee = fees.monthly_fee(use_case=campaign_use_case(organization=organization))
    credits = fees.credits_for(organization=organization, cents=fee.cents)
    with transaction.atomic():
        account_for_update(organization=organization)
        paid = LedgerEntry.objects.for_org(organization).filter(
            kind=LedgerEntry.Kind.DEBIT, reference=reference
        )
        if paid.exists():
            return False
        try:
            credits_debit(
                organization=organization,
                credits=credits,
                reference=reference,
                memo=f"US carrier campaign fee, {period:%B %Y} ({fee.usd})",
            )
        except InsufficientCredits:
            return None
    return True


def campaign_fees_charge(*, today: date | None = None) -> dict[str, int]:
    """Every organization with an approved campaign pays the month's campaign fee once."""
    period = (today or timezone.localdate()).replace(day=1)
    counts = {"charged": 0, "unpaid": 0}
    approved = Step.objects.filter(kind=Step.Kind.CAMPAIGN, status=Status.APPROVED)
    for organization in Organization.objects.filter(
        pk__in=approved.values("organization_id")
    ).order_by("pk"):
        result = campaign_fee_charge(organization=organization, period=period)
        if result is None:
            counts["unpaid"] += 1
        counts["charged"] += result is True
    return counts


def callback_record(*, sid: str) -> bool:
    """Twilio says a Trust Hub bundle changed: refresh the step it belongs to (a callback is a
    hint, the truth is what Twilio answers to a fetch), then start the next step. Unknown sids
    are ignored; replays change nothing."""
    step = (
        Step.objects.filter(kind=Step.Kind.PROFILE, provider_sid=sid)
        .select_related("organization")
        .first()
    )
    if step is None:
        step = (
            Step.objects.filter(kind=Step.Kind.PROFILE, provider_ids__trust_product=sid)
            .select_related("organization")
            .first()
        )
    if step is None:
        return False
    changed = step_refresh(step)
    registration_advance(organization=step.organization)
    return changed


def brand_otp_resend(*, organization: Organization) -> None:
    """A sole proprietor's brand waits for its contact to answer Twilio's text with YES; this
    sends that text again (it expires after 24 hours)."""
    registration = registration_get(organization=organization)
    brand = Step.objects.for_org(organization).filter(kind=Step.Kind.BRAND).first()
    sole = registration.business.get("brand_kind") == "sole_proprietor"
    if not sole or brand is None or not brand.waiting or not brand.provider_sid:
        raise RegistrationRefused("Only a sole proprietor's brand waiting for its YES needs it.")
    try:
        registration_provider().brand_otp_resend(sid=brand.provider_sid)
    except ProviderError as error:
        raise RegistrationRefused(f"Twilio could not send it: {error.message}") from error


# --- resubmitting ----------------------------------------------------------------------------


def step_resubmit(*, organization: Organization, step: RegistrationStep) -> RegistrationStep:
    """Send a failed step back to review with the corrected answers (no new fee here)."""
    if step.organization_id != organization.pk:
        raise RegistrationRefused("No such registration step.")
    if step.status != Status.FAILED:
        raise RegistrationRefused("Only a step that failed can be resubmitted.")
    provider = registration_provider()
    try:
        if step.kind == Step.Kind.PROFILE:
            _profile_send(step, registration_get(organization=organization))
            return step
        if step.kind == Step.Kind.BRAND:
            info = provider.brand_resubmit(sid=step.provider_sid)
        elif step.kind == Step.Kind.CAMPAIGN:
            service = step.provider_ids.get("messaging_service", "")
            if step.provider_sid and service:
                provider.campaign_delete(messaging_service_sid=service, sid=step.provider_sid)
            brand = step_get(organization=organization, kind=Step.Kind.BRAND)
            service = selectors.messaging_service_sid(organization=organization) or service
            info = provider.campaign_create(
                messaging_service_sid=service,
                brand_sid=brand.provider_sid,
                fields=campaign_fields(organization=organization),
            )
            ids = {"messaging_service": service}
            Step.objects.filter(pk=step.pk).update(provider_sid=info.sid, provider_ids=ids)
            step.provider_sid, step.provider_ids = info.sid, ids
        else:
            fields = tollfree_fields(organization=organization)
            info = provider.tollfree_resubmit(
                sid=step.provider_sid, fields=fields, edit_reason="Corrected as the review asked"
            )
    except ProviderError as error:
        if error.permanent:
            raise RegistrationRefused(f"Twilio refused it: {error.message}") from error
        raise RegistrationRefused(
            "Twilio could not be reached just now. Try again in a minute."
        ) from error
    step_move(step, Outcome(Status.SUBMITTED, provider_status=info.status))
    _follow(step, info)
    return step
