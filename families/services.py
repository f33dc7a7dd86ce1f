"""Write paths for the people directory: phone numbers, consent, the template and policies."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from families.models import (
    ConsentEvent,
    Family,
    FamilyPolicy,
    PhoneField,
    PhoneNumber,
)
from families.phones import phone_parse
from smsvoice.models import Organization, StaffMember

Source = ConsentEvent.Source


def actor_label_for(user: AbstractBaseUser | None) -> str:
    if user is None or not user.is_authenticated:
        return ""
    member = getattr(user, "staff_member", None)
    if member is not None:
        return f"{member.full_name} ({member.get_role_display().lower()})"
    guardian = getattr(user, "guardian", None)
    if guardian is not None:
        return f"{guardian.full_name} (guardian)"
    return user.get_username()


def policy_current(*, organization: Organization) -> FamilyPolicy | None:
    return FamilyPolicy.objects.for_org(organization).order_by("-version").first()


@transaction.atomic
def consent_record(
    *,
    phone_number: PhoneNumber,
    opted_in: bool,
    source: str,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    note: str = "",
    policy: FamilyPolicy | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
) -> ConsentEvent:
    """The only way a number's text opt-in changes: the state and its evidence in one transaction.

    Opting in needs a text-capable number. Staff may opt a number in only as
    ``staff_with_consent`` (they confirmed holding the customer's consent).
    """
    number = PhoneNumber.objects.select_for_update().get(pk=phone_number.pk)
    if opted_in and not number.text_capable:
        raise ValidationError(
            "This number is not marked text-capable, so it cannot opt in to texts."
        )
    if opted_in and source == Source.STAFF:
        raise ValidationError(
            "Confirm that you hold the customer's consent before turning texts on."
        )
    if policy is None and opted_in:
        policy = policy_current(organization=number.organization)
    number.sms_opt_in = opted_in
    number.save(update_fields=["sms_opt_in", "updated_at"])
    phone_number.sms_opt_in = opted_in
    return ConsentEvent.objects.create(
        organization_id=number.organization_id,
        phone_number=number,
        e164=number.e164,
        channel=ConsentEvent.Channel.SMS,
        opted_in=opted_in,
        source=source,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label or actor_label_for(actor),
        policy=policy,
        note=note,
        ip_address=ip_address,
        user_agent=user_agent[:400],
    )


@transaction.atomic
def family_phone_set(
    *,
    family: Family,
    field: PhoneField,
    raw: str,
    text_capable: bool,
    actor: AbstractBaseUser | None,
    source: str = Source.STAFF,
) -> PhoneNumber | None:
    """Set, change or (with an empty ``raw``) remove the number in one template field.

    New digits are a new number with no consent: a number that was opted in is opted out first,
    with its own event, so the old number's history stays true.
    """
    if field.organization_id != family.organization_id:
        raise ValidationError("That phone field belongs to another organization.")
    existing = PhoneNumber.objects.select_for_update().filter(family=family, field=field).first()
    if not raw.strip():
        if field.required:
            raise ValidationError(f"{field.label} is required.")
        if existing is not None:
            _opt_out_before_change(existing, actor, source, "number removed")
            existing.delete()
        return None
    e164 = phone_parse(raw, country=family.organization.country)
    if existing is None:
        return PhoneNumber.objects.create(
            organization_id=family.organization_id,
            family=family,
            field=field,
            e164=e164,
            text_capable=text_capable,
        )
    if existing.e164 != e164:
        _opt_out_before_change(existing, actor, source, f"number changed to {e164}")
        existing.e164 = e164
    if not text_capable:
        _opt_out_before_change(existing, actor, source, "marked not text-capable")
    existing.text_capable = text_capable
    existing.save(update_fields=["e164", "text_capable", "updated_at"])
    return existing


def _opt_out_before_change(
    number: PhoneNumber, actor: AbstractBaseUser | None, source: str, note: str
) -> None:
    if number.sms_opt_in:
        consent_record(phone_number=number, opted_in=False, source=source, actor=actor, note=note)


@transaction.atomic
def staff_phone_add(
    *, staff_member: StaffMember, raw: str, label: str, text_capable: bool
) -> PhoneNumber:
    e164 = phone_parse(raw, country=staff_member.organization.country)
    return PhoneNumber.objects.create(
        organization_id=staff_member.organization_id,
        staff_member=staff_member,
        label=label,
        e164=e164,
        text_capable=text_capable,
    )


def phone_field_add(
    *, organization: Organization, label: str, required: bool = False, order: int | None = None
) -> PhoneField:
    """A new template field shows on every family at once: families render the template's
    fields, so no per-family rows are needed until a number is entered."""
    label = label.strip()
    if not label:
        raise ValidationError("Give the phone field a label.")
    if PhoneField.objects.for_org(organization).filter(label__iexact=label).exists():
        raise ValidationError(f"There is already a phone field called {label}.")
    if order is None:
        top = PhoneField.objects.for_org(organization).aggregate(top=Max("order"))["top"]
        order = (top or 0) + 1
    return PhoneField.objects.create(
        organization=organization, label=label, required=required, order=order
    )


def policy_publish(
    *, organization: Organization, text: str, actor: AbstractBaseUser | None
) -> FamilyPolicy:
    """Editing the policy publishes a new version; old versions stay as consent evidence."""
    text = text.strip()
    if not text:
        raise ValidationError("The policy cannot be empty.")
    for _attempt in range(3):
        try:
            with transaction.atomic():
                current = policy_current(organization=organization)
                if current is not None and current.text == text:
                    return current
                return FamilyPolicy.objects.create(
                    organization=organization,
                    version=(current.version + 1) if current else 1,
                    text=text,
                    created_by=actor if actor is not None and actor.is_authenticated else None,
                )
        except IntegrityError:
            continue  # Two admins saved at once; the unique version makes one of them retry.
    raise ValidationError("The policy was being changed by someone else; try again.")
