"""Write paths of the parent portal: invitations, and a guardian's numbers and consent.

Numbers and consent go through ``families.services`` (``family_phone_set``, ``consent_record``),
which keep the opt-in state and its evidence together; here we add what the portal decides:
who may act, which policy version was shown, and from where the answer came.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from broadcasts.sms.signup import signup_after_opt_in
from families.models import ConsentEvent, FamilyPolicy, Guardian, PhoneField, PhoneNumber
from families.services import consent_record, family_phone_set, policy_current
from portal.models import Invitation
from smsvoice.models import StaffMember

Source = ConsentEvent.Source

INVITATION_MAX_AGE = datetime.timedelta(days=7)
_TOKEN_SALT = "portal.invitation"


# --- Invitations ---


@transaction.atomic
def invitation_send(*, guardian: Guardian, sent_by: AbstractBaseUser | None) -> Invitation:
    """Give the guardian a portal login (username = their email, no password yet) if they have
    none, and email them a link to choose a password, after the transaction commits.

    Sending again is allowed until they have used a link; each new invitation replaces the
    links sent before it. An email that is already someone else's login is refused.
    """
    guardian = (
        Guardian.objects.select_for_update(of=("self",))
        .select_related("organization", "user")
        .get(pk=guardian.pk)
    )
    email = guardian.email.strip().lower()
    if not email:
        raise ValidationError(
            f"Add an email address for {guardian.full_name} first: the invitation goes by email."
        )
    user = guardian.user
    if user is not None and StaffMember.objects.filter(user=user).exists():
        raise ValidationError(
            f"{guardian.full_name}'s login is a staff login, which cannot use the parent portal."
        )
    if user is not None and user.has_usable_password():
        raise ValidationError(
            f"{guardian.full_name} already has portal access. If they forgot their password, "
            "they can reset it from the portal's login page."
        )
    _refuse_login_of_someone_else(email, guardian=guardian, user=user)
    user = _portal_user(guardian, user, email)
    invitation = Invitation.objects.create(
        organization=guardian.organization,
        guardian=guardian,
        email=email,
        sent_by=sent_by if sent_by is not None and sent_by.is_authenticated else None,
    )
    transaction.on_commit(lambda: _invitation_email(invitation, user))
    return invitation


def _refuse_login_of_someone_else(
    email: str, *, guardian: Guardian, user: AbstractBaseUser | None
) -> None:
    others = get_user_model().objects.filter(Q(username__iexact=email) | Q(email__iexact=email))
    if user is not None:
        others = others.exclude(pk=user.pk)
    if others.exists():
        raise ValidationError(
            f"{email} is already the login of someone else (another parent or a staff member). "
            f"Give {guardian.full_name} an email address of their own, then invite them."
        )


def _portal_user(guardian: Guardian, user: AbstractBaseUser | None, email: str) -> AbstractBaseUser:
    """The guardian's login, created without a usable password, its username kept equal to the
    guardian's current email (staff may have corrected the address since the last invitation)."""
    if user is None:
        user = get_user_model()(username=email, email=email)
        user.set_unusable_password()
        user.save()
        guardian.user = user
        guardian.save(update_fields=["user"])
    elif (user.username, user.email) != (email, email):
        user.username = user.email = email
        user.save(update_fields=["username", "email"])
    return user


def _user_state(user: AbstractBaseUser) -> str:
    """Changes when the password is set or the user logs in, so a used link stops working."""
    last_login = user.last_login.replace(microsecond=0, tzinfo=None) if user.last_login else ""
    value = f"{user.pk}{user.password}{last_login}{user.get_username()}"
    return salted_hmac(_TOKEN_SALT, value, algorithm="sha256").hexdigest()[:32]


def invitation_token(*, invitation: Invitation, user: AbstractBaseUser) -> str:
    return signing.dumps({"i": invitation.pk, "s": _user_state(user)}, salt=_TOKEN_SALT)


def invitation_link(*, invitation: Invitation, user: AbstractBaseUser) -> str:
    token = invitation_token(invitation=invitation, user=user)
    return settings.SITE_URL + reverse("portal:invitation", args=[token])


def _invitation_email(invitation: Invitation, user: AbstractBaseUser) -> None:
    context = {
        "guardian": invitation.guardian,
        "organization": invitation.organization,
        "link": invitation_link(invitation=invitation, user=user),
        "login_url": settings.SITE_URL + reverse("portal:login"),
        "username": user.get_username(),
        "days": INVITATION_MAX_AGE.days,
    }
    subject = render_to_string("portal/emails/invitation_subject.txt", context).strip()
    body = render_to_string("portal/emails/invitation_email.txt", context)
    send_mail(subject, body, None, [invitation.email])


def invitation_check(*, token: str, for_update: bool = False) -> Invitation:
    """The invitation a link belongs to, if the link can still be used; otherwise a
    ValidationError saying why (code ``invalid``, ``expired``, ``replaced`` or ``used``)."""
    try:
        data = signing.loads(token, salt=_TOKEN_SALT, max_age=INVITATION_MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError(
            "This invitation has expired. Ask us to send you a new one.", code="expired"
        ) from None
    except signing.BadSignature:
        raise ValidationError("This invitation link is not valid.", code="invalid") from None
    invitations = Invitation.objects.select_related("guardian__user", "organization")
    if for_update:
        invitations = invitations.select_for_update(of=("self",))
    invitation = invitations.filter(pk=data.get("i")).first()
    user = invitation.guardian.user if invitation is not None else None
    if user is None:
        raise ValidationError("This invitation link is not valid.", code="invalid")
    if invitation.accepted_at is not None or data.get("s") != _user_state(user):
        raise ValidationError(
            "This invitation has already been used. Log in with your email and password.",
            code="used",
        )
    newer = Invitation.objects.filter(guardian=invitation.guardian, pk__gt=invitation.pk)
    if newer.exists():
        raise ValidationError(
            "A newer invitation was sent to you: use the link in the latest email.",
            code="replaced",
        )
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, password: str) -> AbstractBaseUser:
    """Set the guardian's password through a valid invitation link, once.

    The row lock makes two submissions of one link race to a single winner: the second sees the
    invitation accepted (and the user's state changed) and is refused.
    """
    invitation = invitation_check(token=token, for_update=True)
    user = invitation.guardian.user
    password_validation.validate_password(password, user)
    user.set_password(password)
    user.is_active = True
    user.save(update_fields=["password", "is_active"])
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return user


# --- A guardian's numbers and texting consent ---


def _own_number(guardian: Guardian, phone_number: PhoneNumber) -> None:
    if phone_number.family_id != guardian.family_id:
        raise ValidationError("That number belongs to another family.")


def portal_phone_save(
    *, guardian: Guardian, field: PhoneField, raw: str, text_capable: bool
) -> PhoneNumber | None:
    """Add or change the family's number in one Family Template field. New digits are a new
    number: an opt-in of the old digits ends, recorded as the parent's (source portal)."""
    if not raw.strip():
        raise ValidationError("Enter a phone number.")
    return family_phone_set(
        family=guardian.family,
        field=field,
        raw=raw,
        text_capable=text_capable,
        actor=guardian.user,
        source=Source.PORTAL,
    )


def portal_phone_remove(*, guardian: Guardian, field: PhoneField) -> None:
    """Remove the family's number in a field (not a required one); its history is kept."""
    family_phone_set(
        family=guardian.family,
        field=field,
        raw="",
        text_capable=None,
        actor=guardian.user,
        source=Source.PORTAL,
    )


def portal_texts_yes(
    *,
    guardian: Guardian,
    phone_number: PhoneNumber,
    confirmed: bool,
    policy_version: int | None,
    ip_address: str | None,
    user_agent: str,
) -> ConsentEvent | None:
    """The parent opts a number in to texts after reading the policy version they confirm.

    Refused without a published policy, without the confirmation, or when the policy changed
    since the page was shown (the evidence must name the version they read). A number already
    opted in records nothing (None).
    """
    _own_number(guardian, phone_number)
    policy = _policy_shown(guardian, policy_version)
    if not confirmed:
        raise ValidationError(
            "Tick the box to confirm you have read the texting policy and want texts."
        )
    if phone_number.sms_opt_in:
        return None
    event = consent_record(
        phone_number=phone_number,
        opted_in=True,
        source=Source.PORTAL,
        actor=guardian.user,
        policy=policy,
        ip_address=ip_address,
        user_agent=user_agent,
    )
    signup_after_opt_in(event)  # the signup message, once the opt-in has committed
    return event


def _policy_shown(guardian: Guardian, policy_version: int | None) -> FamilyPolicy:
    organization = guardian.organization
    policy = policy_current(organization=organization)
    if policy is None:
        raise ValidationError(
            f"Texts can't be turned on until {organization.name} publishes its texting policy."
        )
    if policy_version != policy.version:
        raise ValidationError(
            f"{organization.name} has just updated its texting policy. Read the new version "
            "below and confirm again."
        )
    return policy


def portal_texts_no(
    *,
    guardian: Guardian,
    phone_number: PhoneNumber,
    ip_address: str | None,
    user_agent: str,
) -> ConsentEvent | None:
    """The parent answers No: an opt-out is recorded, unless the number's last recorded answer
    already is one (saying No twice changes nothing and records nothing: None)."""
    _own_number(guardian, phone_number)
    last = (
        ConsentEvent.objects.for_org(guardian.organization)
        .filter(phone_number=phone_number, e164=phone_number.e164)
        .order_by("-created_at", "-id")
        .first()
    )
    if not phone_number.sms_opt_in and last is not None and not last.opted_in:
        return None
    return consent_record(
        phone_number=phone_number,
        opted_in=False,
        source=Source.PORTAL,
        actor=guardian.user,
        ip_address=ip_address,
        user_agent=user_agent,
    )
