"""Read paths of texting registration, each scoped to the organization it is given.

``defaults_for`` builds the answers we suggest (the organization's name, contact, its own
recent broadcasts as samples, the parent portal's opt-in described exactly, the keywords and
replies the app really sends), so an admin mostly reads and confirms.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

from broadcasts.registration.models import RegistrationStep, TextingRegistration
from broadcasts.registration.readiness import is_tollfree, sending_e164
from broadcasts.sms.keywords import HELP_WORDS, START_WORDS, STOP_WORDS
from smsvoice.models import Organization, StaffMember

Step = RegistrationStep
OPT_IN_SALT = "texting-opt-in-page"
TENLC_KINDS = (Step.Kind.PROFILE, Step.Kind.BRAND, Step.Kind.CAMPAIGN)


@dataclass(frozen=True, slots=True)
class AppReplies:
    """What the app answers to keywords (the campaign must state them exactly)."""

    opt_in_keywords: list[str]
    opt_out_keywords: list[str]
    help_keywords: list[str]
    opt_in_message: str
    opt_out_message: str
    help_message: str


def registration_of(*, organization: Organization) -> TextingRegistration | None:
    return TextingRegistration.objects.for_org(organization).first()


def steps_of(*, organization: Organization) -> dict[str, RegistrationStep]:
    return {s.kind: s for s in Step.objects.for_org(organization)}


def step_of(*, organization: Organization, pk: int) -> RegistrationStep | None:
    return Step.objects.for_org(organization).filter(pk=pk).first()


def path_of(*, organization: Organization) -> str:
    """Which registration this organization needs: toll-free for a toll-free number."""
    if is_tollfree(sending_e164(organization)):
        return TextingRegistration.Path.TOLLFREE
    return TextingRegistration.Path.LOCAL


def messaging_service_sid(*, organization: Organization) -> str:
    """The organization's Messaging Service (kept on its sending number by the Messaging
    Service module), or "" while it is being set up."""
    from broadcasts.models import SendingNumber

    number = SendingNumber.objects.for_org(organization).filter(status="active").first()
    return number.messaging_service_sid if number else ""


def tollfree_number_sid(*, organization: Organization) -> str:
    from broadcasts.models import SendingNumber

    number = SendingNumber.objects.for_org(organization).filter(status="active").first()
    return number.provider_sid if number and is_tollfree(number.e164) else ""


def admins_of(*, organization: Organization) -> list[str]:
    """Email addresses of the organization's active admins (staff email, else login email)."""
    admins = StaffMember.objects.for_org(organization).filter(
        role=StaffMember.Role.ADMIN, is_active=True
    )
    emails = [a.email or (a.user.email if a.user else "") for a in admins.select_related("user")]
    return sorted({e for e in emails if e})


def opt_in_page_url(*, organization: Organization) -> str:
    """The public page that shows reviewers how families opt in (no login, unguessable)."""
    token = signing.dumps(organization.pk, salt=OPT_IN_SALT)
    return settings.SITE_URL + reverse("broadcasts:registration_opt_in", args=[token])


def organization_of_opt_in_token(token: str) -> Organization | None:
    try:
        pk = signing.loads(token, salt=OPT_IN_SALT)
    except signing.BadSignature:
        return None
    return Organization.objects.filter(pk=pk).first()


def app_replies(*, organization: Organization) -> AppReplies:
    from broadcasts.sms import ctia

    return AppReplies(
        opt_in_keywords=sorted(START_WORDS),
        opt_out_keywords=sorted(STOP_WORDS),
        help_keywords=sorted(HELP_WORDS),
        opt_in_message=ctia.signup_text(organization),
        opt_out_message=ctia.stop_reply_text(organization),
        help_message=ctia.help_reply_text(organization),
    )


def recent_samples(*, organization: Organization, count: int = 2) -> list[str]:
    """The organization's latest distinct text broadcasts long enough to be samples."""
    from broadcasts.models import Broadcast

    texts = (
        Broadcast.objects.for_org(organization)
        .filter(channel=Broadcast.Channel.SMS)
        .exclude(text="")
        .order_by("-created_at")
        .values_list("text", flat=True)[:50]
    )
    found: list[str] = []
    for text in texts:
        text = text.strip()
        if 20 <= len(text) <= 1024 and text not in found:
            found.append(text)
        if len(found) == count:
            break
    return found


def default_samples(organization: Organization) -> list[str]:
    name = organization.name
    return [
        f"{name}: the gym is closed today because of the snowstorm. All classes resume "
        "tomorrow. Reply STOP to opt out.",
        f"{name}: reminder, the winter showcase is Saturday at 10am. Arrive 15 minutes early. "
        "Reply STOP to opt out.",
    ]


def defaults_for(*, organization: Organization, admin: StaffMember | None) -> dict:
    """Suggested answers for the three forms (business, campaign, toll-free)."""
    from broadcasts.sms import ctia

    purpose = ctia.purpose_of(ctia.message_options_for(organization))
    samples = recent_samples(organization=organization)
    samples += default_samples(organization)[len(samples) :]
    page = opt_in_page_url(organization=organization)
    portal = settings.SITE_URL + reverse("portal:home")
    name = organization.name
    email = (admin.email or (admin.user.email if admin.user else "")) if admin else ""
    description = (
        f"{name} texts the families of its students, and its staff, about {purpose}: "
        "schedule changes, closures, events and account reminders."
    )
    flow = (
        f"Families of {name} students opt in on the {name} parent portal ({portal}). Next "
        "to each mobile number the parent answers Yes to “text messages” after reading the "
        f"texting policy shown on the same page (public copy: {page}). The consent says: "
        f"you agree to receive text messages (SMS) from {name} about {purpose}; message "
        "frequency varies; msg & data rates may apply; reply HELP for help, STOP to opt out. "
        "Staff may record consent a parent gave in writing. Texting is never required to "
        "enroll, and numbers are never shared or sold."
    )
    return {
        "business": {
            "brand_kind": "low_volume",
            "legal_name": name,
            "business_type": "Limited Liability Corporation",
            "website": "",
            "contact_first_name": admin.first_name if admin else "",
            "contact_last_name": admin.last_name if admin else "",
            "contact_title": (admin.title or "Owner") if admin else "Owner",
            "contact_email": email or organization.contact_email,
            "contact_phone": organization.contact_phone,
        },
        "campaign": {
            "use_case": "LOW_VOLUME",
            "description": description,
            "sample_1": samples[0],
            "sample_2": samples[1],
            "message_flow": flow,
            "has_embedded_links": False,
            "has_embedded_phone": False,
        },
        "tollfree": {
            "opt_in_type": "WEB_FORM",
            "opt_in_url": page,
            "message_volume": "1,000",
            "use_case_category": "ACCOUNT_NOTIFICATIONS",
            "use_case_summary": description + " Families opt in on our parent portal.",
            "sample": samples[0],
        },
    }


def campaign_fee_unpaid(*, organization: Organization) -> bool:
    """An approved campaign whose fee for this month is not in the ledger yet."""
    from django.utils import timezone

    from broadcasts.registration.fees import campaign_fee_reference
    from credits.models import LedgerEntry

    approved = Step.objects.for_org(organization).filter(
        kind=Step.Kind.CAMPAIGN, status=Step.Status.APPROVED
    )
    if not approved.exists():
        return False
    period = timezone.localdate().replace(day=1)
    reference = campaign_fee_reference(organization=organization, period=period)
    paid = LedgerEntry.objects.for_org(organization).filter(kind="debit", reference=reference)
    return not paid.exists()
