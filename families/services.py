"""Write paths for the people directory: families, guardians, students, staff, phone numbers,
consent, the Family Template and the Family Policies.

Every function takes the rows it changes (already scoped to the organization by the caller's
``for_org`` lookup), checks that whatever else it is given belongs to the same organization,
and raises ValidationError with a sentence a person can read; on error nothing is changed.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from families.models import (
    ConsentEvent,
    Family,
    FamilyPolicy,
    Guardian,
    Location,
    OptOut,
    PhoneField,
    PhoneNumber,
    Program,
    Student,
)
from families.phones import phone_likely_text_capable, phone_parse
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
    words: str = "",
) -> ConsentEvent:
    """The only way a number's text opt-in changes: the state and its evidence in one transaction.

    Opting in needs a text-capable number. Staff may opt a number in only as
    ``staff_with_consent`` (they confirmed holding the customer's consent). A number that
    replied STOP (it is on the OptOut list) comes back only by replying START: the law puts
    the keyword above any other consent, so only a ``keyword`` event may opt it in, and a
    ``keyword`` event opts in only a number with a STOP on file.
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
    if opted_in and source != Source.KEYWORD and _replied_stop(number):
        raise ValidationError(
            "This number replied STOP, so texts can only be turned back on by the customer "
            "replying START."
        )
    if opted_in and source == Source.KEYWORD and not _replied_stop(number):
        # A stray YES is not consent: a keyword only undoes a STOP on file.
        raise ValidationError(
            "A keyword reply only undoes a STOP; this number never replied STOP, so it opts "
            "in on the parent portal or through staff who hold its consent."
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
        words=words,
        ip_address=ip_address,
        user_agent=user_agent[:400],
    )


@transaction.atomic
def family_phone_set(
    *,
    family: Family,
    field: PhoneField,
    raw: str,
    text_capable: bool | None,
    actor: AbstractBaseUser | None,
    source: str = Source.STAFF,
) -> PhoneNumber | None:
    """Set, change or (with an empty ``raw``) remove the number in one template field.

    New digits are a new number with no consent: a number that was opted in is opted out first,
    with its own event, so the old number's history stays true. ``text_capable=None`` keeps an
    existing number's setting and guesses one for a new number from its type.
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
    if text_capable is None:
        text_capable = existing.text_capable if existing else phone_likely_text_capable(e164)
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
    from broadcasts.sms.ctia import policy_refusal  # Canada: mailing address and contact

    for _attempt in range(3):
        try:
            with transaction.atomic():
                current = policy_current(organization=organization)
                if current is not None and current.text == text:
                    return current
                refusal = policy_refusal(organization, text)
                if refusal:
                    raise ValidationError(refusal)
                return FamilyPolicy.objects.create(
                    organization=organization,
                    version=(current.version + 1) if current else 1,
                    text=text,
                    created_by=actor if actor is not None and actor.is_authenticated else None,
                )
        except IntegrityError:
            continue  # Two admins saved at once; the unique version makes one of them retry.
    raise ValidationError("The policy was being changed by someone else; try again.")


def _replied_stop(number: PhoneNumber) -> bool:
    return OptOut.objects.filter(organization_id=number.organization_id, e164=number.e164).exists()


def _same_organization(organization_id: int, *rows: object | None) -> None:
    """Refuse rows of another organization handed in next to an organization's own rows."""
    for row in rows:
        if row is not None and row.organization_id != organization_id:
            raise ValidationError(
                f"That {type(row)._meta.verbose_name} belongs to another organization."
            )


def _required_name(first_name: str, last_name: str) -> tuple[str, str]:
    first_name, last_name = first_name.strip(), last_name.strip()
    if not first_name:
        raise ValidationError("Enter a first name.")
    return first_name, last_name


# --- Families, guardians, students ---


@transaction.atomic
def family_create(
    *,
    organization: Organization,
    name: str,
    status: str = Family.Status.ACTIVE,
    location: Location | None = None,
    notes: str = "",
    phones: Mapping[int, str] | None = None,
    actor: AbstractBaseUser | None = None,
) -> Family:
    """A family with the numbers of its template fields (``phones`` maps field id to the typed
    number). A required field left empty or a bad number refuses the whole family, naming the
    field: ``ValidationError({"phone_<field id>": ...})``."""
    _same_organization(organization.pk, location)
    name = name.strip()
    if not name:
        raise ValidationError("Give the family a name.")
    family = Family.objects.create(
        organization=organization, name=name, status=status, location=location, notes=notes
    )
    phones = phones or {}
    for field in PhoneField.objects.for_org(organization):
        try:
            family_phone_set(
                family=family,
                field=field,
                raw=phones.get(field.pk, ""),
                text_capable=None,
                actor=actor,
            )
        except ValidationError as exc:
            raise ValidationError({f"phone_{field.pk}": exc.messages}) from None
    return family


def family_update(
    *, family: Family, name: str, status: str, location: Location | None, notes: str
) -> Family:
    _same_organization(family.organization_id, location)
    name = name.strip()
    if not name:
        raise ValidationError("Give the family a name.")
    family.name, family.status, family.location, family.notes = name, status, location, notes
    family.save(update_fields=["name", "status", "location", "notes"])
    return family


def guardian_create(*, family: Family, first_name: str, last_name: str, email: str) -> Guardian:
    first_name, last_name = _required_name(first_name, last_name)
    return Guardian.objects.create(
        organization_id=family.organization_id,
        family=family,
        first_name=first_name,
        last_name=last_name,
        email=email.strip(),
    )


def guardian_update(*, guardian: Guardian, first_name: str, last_name: str, email: str) -> Guardian:
    guardian.first_name, guardian.last_name = _required_name(first_name, last_name)
    guardian.email = email.strip()
    guardian.save(update_fields=["first_name", "last_name", "email"])
    return guardian


def guardian_delete(*, guardian: Guardian) -> None:
    """The guardian goes; a portal login they had stays but no longer reaches the family."""
    guardian.delete()


def student_create(
    *,
    family: Family,
    first_name: str,
    last_name: str,
    birth_date: datetime.date | None = None,
    program: Program | None = None,
    level: str = "",
    status: str = Student.Status.ACTIVE,
) -> Student:
    _same_organization(family.organization_id, program)
    first_name, last_name = _required_name(first_name, last_name)
    return Student.objects.create(
        organization_id=family.organization_id,
        family=family,
        first_name=first_name,
        last_name=last_name,
        birth_date=birth_date,
        program=program,
        level=level.strip(),
        status=status,
    )


def student_update(
    *,
    student: Student,
    first_name: str,
    last_name: str,
    birth_date: datetime.date | None,
    program: Program | None,
    level: str,
    status: str,
) -> Student:
    _same_organization(student.organization_id, program)
    student.first_name, student.last_name = _required_name(first_name, last_name)
    student.birth_date, student.program = birth_date, program
    student.level, student.status = level.strip(), status
    student.save(
        update_fields=["first_name", "last_name", "birth_date", "program", "level", "status"]
    )
    return student


def student_delete(*, student: Student) -> None:
    student.delete()


# --- Any number: text-capable and texting, as staff ---


@transaction.atomic
def phone_text_capable_set(
    *, phone_number: PhoneNumber, text_capable: bool, actor: AbstractBaseUser | None
) -> PhoneNumber:
    """A number that cannot take texts cannot stay opted in: it is opted out first, recorded."""
    number = PhoneNumber.objects.select_for_update().get(pk=phone_number.pk)
    if not text_capable:
        _opt_out_before_change(number, actor, Source.STAFF, "marked not text-capable")
    number.text_capable = text_capable
    number.save(update_fields=["text_capable", "updated_at"])
    phone_number.text_capable, phone_number.sms_opt_in = number.text_capable, number.sms_opt_in
    return number


def phone_texts_set_by_staff(
    *,
    phone_number: PhoneNumber,
    on: bool,
    actor: AbstractBaseUser | None,
    consent_confirmed: bool = False,
    note: str = "",
) -> ConsentEvent | None:
    """Staff turn texting on only by confirming they hold the customer's consent; turning it off
    needs no reason. Asking for the state the number is already in records nothing (None)."""
    if on and not consent_confirmed:
        raise ValidationError(
            "Tick the box to confirm this customer gave consent to receive texts."
        )
    if phone_number.sms_opt_in == on:
        return None
    event = consent_record(
        phone_number=phone_number,
        opted_in=on,
        source=Source.STAFF_WITH_CONSENT if on else Source.STAFF,
        actor=actor,
        note=note.strip(),
    )
    from broadcasts.sms.signup import signup_after_opt_in  # the signup message, on commit

    signup_after_opt_in(event)
    return event


# --- Staff members and their own numbers ---


def _login_email(email: str) -> str:
    email = email.strip().lower()
    if not email:
        raise ValidationError("A login needs an email address.")
    return email


def _refuse_taken_username(email: str, *, except_user_id: int | None = None) -> None:
    taken = get_user_model().objects.filter(username__iexact=email)
    if except_user_id is not None:
        taken = taken.exclude(pk=except_user_id)
    if taken.exists():
        raise ValidationError(f"There is already a login for {email}. Use another email address.")


def _refuse_losing_last_admin(member: StaffMember, *, role: str, is_active: bool) -> None:
    if not (member.is_admin and member.is_active) or (role == StaffMember.Role.ADMIN and is_active):
        return
    admins = (
        StaffMember.objects.for_org(member.organization)
        .select_for_update()
        .filter(role=StaffMember.Role.ADMIN, is_active=True)
        .exclude(pk=member.pk)
    )
    if not admins.exists():
        raise ValidationError(
            "The organization needs at least one active admin: make someone else an admin first."
        )


class _WelcomePasswordForm(PasswordResetForm):
    """Django's password-reset email, sent to one chosen user although their password is not
    set yet (the stock form skips users without a usable password)."""

    def __init__(self, user: AbstractBaseUser) -> None:
        super().__init__(data={"email": user.email})
        self.user = user

    def get_users(self, email: str):
        return [self.user]


def _send_set_password_email(user: AbstractBaseUser, organization: Organization) -> None:
    site = urlsplit(settings.SITE_URL)
    form = _WelcomePasswordForm(user)
    form.is_valid()
    form.save(
        domain_override=site.netloc,
        use_https=site.scheme == "https",
        subject_template_name="families/emails/staff_welcome_subject.txt",
        email_template_name="families/emails/staff_welcome_email.txt",
        extra_email_context={"organization": organization},
    )


def _login_create(member: StaffMember, email: str) -> None:
    _refuse_taken_username(email)
    user = get_user_model()(username=email, email=email)
    user.set_unusable_password()
    user.save()
    member.user = user
    organization = member.organization
    transaction.on_commit(lambda: _send_set_password_email(user, organization))


@transaction.atomic
def staff_member_create(
    *,
    organization: Organization,
    first_name: str,
    last_name: str,
    title: str = "",
    email: str = "",
    role: str = StaffMember.Role.STAFF,
    is_active: bool = True,
    can_log_in: bool = False,
) -> StaffMember:
    """With ``can_log_in`` the email becomes their username and they are emailed a link to set
    a password (after the transaction commits, so a refused save sends nothing)."""
    first_name, last_name = _required_name(first_name, last_name)
    member = StaffMember(
        organization=organization,
        first_name=first_name,
        last_name=last_name,
        title=title.strip(),
        email=email.strip(),
        role=role,
        is_active=is_active,
    )
    if can_log_in:
        _login_create(member, _login_email(email))
    member.save()
    return member


@transaction.atomic
def staff_member_update(
    *,
    staff_member: StaffMember,
    first_name: str,
    last_name: str,
    title: str,
    email: str,
    role: str,
    is_active: bool,
    can_log_in: bool,
) -> StaffMember:
    """Change a staff member. Turning the login off deactivates their user (it can be turned
    back on); a changed email changes the username too. The last active admin stays one."""
    member = staff_member
    _refuse_losing_last_admin(member, role=role, is_active=is_active)
    member.first_name, member.last_name = _required_name(first_name, last_name)
    member.title, member.email = title.strip(), email.strip()
    member.role, member.is_active = role, is_active
    user = member.user
    if can_log_in and user is None:
        _login_create(member, _login_email(email))
    elif user is not None:
        if can_log_in:
            login = _login_email(email)
            _refuse_taken_username(login, except_user_id=user.pk)
            user.username = user.email = login
        user.is_active = can_log_in
        user.save(update_fields=["username", "email", "is_active"])
    member.save()
    return member


@transaction.atomic
def staff_phone_update(
    *, phone_number: PhoneNumber, raw: str, label: str, actor: AbstractBaseUser | None
) -> PhoneNumber:
    """New digits are a new number: an opt-in of the old digits ends first, recorded."""
    number = PhoneNumber.objects.select_for_update().get(pk=phone_number.pk)
    if number.staff_member_id is None:
        raise ValidationError("That number belongs to a family, not a staff member.")
    e164 = phone_parse(raw, country=number.organization.country)
    if e164 != number.e164:
        _opt_out_before_change(number, actor, Source.STAFF, f"number changed to {e164}")
        number.e164 = e164
    number.label = label.strip()
    number.save(update_fields=["e164", "label", "updated_at"])
    return number


@transaction.atomic
def phone_number_remove(*, phone_number: PhoneNumber, actor: AbstractBaseUser | None) -> None:
    """Remove a staff member's number (or a family's, outside the template's required rule).
    Its consent history stays, detached, with a last opt-out if it was opted in."""
    number = PhoneNumber.objects.select_for_update().get(pk=phone_number.pk)
    _opt_out_before_change(number, actor, Source.STAFF, "number removed")
    number.delete()


# --- The Family Template ---


def _phone_field_label(organization: Organization, label: str, *, exclude_pk: int | None) -> str:
    label = label.strip()
    if not label:
        raise ValidationError("Give the phone field a label.")
    max_length = PhoneField._meta.get_field("label").max_length
    if len(label) > max_length:
        raise ValidationError(f"Keep the label to {max_length} characters or fewer.")
    same = PhoneField.objects.for_org(organization).filter(label__iexact=label)
    if exclude_pk is not None:
        same = same.exclude(pk=exclude_pk)
    if same.exists():
        raise ValidationError(f"There is already a phone field called {label}.")
    return label


def phone_field_update(*, field: PhoneField, label: str, required: bool) -> PhoneField:
    field.label = _phone_field_label(field.organization, label, exclude_pk=field.pk)
    field.required = required
    field.save(update_fields=["label", "required"])
    return field


@transaction.atomic
def phone_field_move(*, field: PhoneField, direction: str) -> None:
    """Swap the field with its neighbour; the orders are renumbered 1..n on the way, so fields
    that shared an order (the default 0) get a definite place."""
    if direction not in ("up", "down"):
        raise ValidationError("Move a phone field up or down.")
    fields = list(
        PhoneField.objects.for_org(field.organization).select_for_update().order_by("order", "id")
    )
    index = next(i for i, f in enumerate(fields) if f.pk == field.pk)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(fields):
        return
    fields[index], fields[other] = fields[other], fields[index]
    changed = []
    for position, each in enumerate(fields, start=1):
        if each.order != position:
            each.order = position
            changed.append(each)
    PhoneField.objects.bulk_update(changed, ["order"])


@transaction.atomic
def phone_field_delete(
    *, field: PhoneField, confirmed: bool, actor: AbstractBaseUser | None
) -> int:
    """Delete a template field and every family's number in it; return how many numbers went.

    A field that holds numbers is deleted only when the caller confirmed it. Opted-in numbers
    get their opt-out recorded first, so the consent history of each number ends truthfully.
    """
    numbers = PhoneNumber.objects.select_for_update().filter(field=field)
    count = numbers.count()
    if count and not confirmed:
        families = "1 family has" if count == 1 else f"{count} families have"
        raise ValidationError(
            f"{families} a number in {field.label}. Tick the box to confirm that deleting the "
            "field deletes those numbers too."
        )
    for number in numbers.filter(sms_opt_in=True):
        _opt_out_before_change(number, actor, Source.STAFF, f"phone field {field.label} deleted")
    field.delete()
    return count
