"""Read paths of the parent portal. Every query starts from the guardian's own family or
organization, never from an id the browser sent."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.shortcuts import get_object_or_404

from broadcasts.selectors import sending_number_active
from families.models import FamilyPolicy, Guardian, OptOut, PhoneField, PhoneNumber
from families.phones import phone_display
from families.selectors import FamilyPage, NumberView, family_detail_data
from families.services import policy_current
from portal.models import Invitation
from smsvoice.models import StaffMember


@dataclass
class PortalPage:
    """The family page as a parent sees it: the staff page's data plus what the texting
    answers need (the current policy and the number to text START to)."""

    family: FamilyPage
    policy: FamilyPolicy | None
    sending_number: str


def portal_family_page(*, guardian: Guardian) -> PortalPage:
    organization = guardian.organization
    sender = sending_number_active(organization=organization)
    return PortalPage(
        family=family_detail_data(family=guardian.family),
        policy=policy_current(organization=organization),
        sending_number=phone_display(sender.e164) if sender else "",
    )


def number_answered(view: NumberView) -> bool:
    """Whether anyone has recorded a texting answer for these digits of this number yet."""
    number = view.number
    return any(e.phone_number_id == number.pk and e.e164 == number.e164 for e in view.events)


def portal_field(*, guardian: Guardian, pk: int) -> PhoneField:
    return get_object_or_404(PhoneField.objects.for_org(guardian.organization), pk=pk)


def portal_number(*, guardian: Guardian, pk: int) -> PhoneNumber:
    """One of the guardian's family's numbers; any other id is a 404."""
    numbers = PhoneNumber.objects.for_org(guardian.organization).filter(family=guardian.family)
    return get_object_or_404(numbers.select_related("field"), pk=pk)


def number_unsubscribed(*, number: PhoneNumber) -> bool:
    """The number replied STOP to the organization's sending number."""
    return OptOut.objects.for_org(number.organization).filter(e164=number.e164).exists()


def sending_number_display(*, guardian: Guardian) -> str:
    sender = sending_number_active(organization=guardian.organization)
    return phone_display(sender.e164) if sender else ""


@dataclass
class PortalAccess:
    """What the staff family page says about one guardian's portal login."""

    has_access: bool
    invited_at: datetime.datetime | None
    is_staff_login: bool

    @property
    def can_invite(self) -> bool:
        return not self.has_access and not self.is_staff_login


def portal_access(*, guardian: Guardian) -> PortalAccess:
    user = guardian.user
    latest = Invitation.objects.filter(guardian=guardian).order_by("-sent_at", "-id").first()
    is_staff = user is not None and StaffMember.objects.filter(user=user).exists()
    return PortalAccess(
        has_access=bool(user and user.is_active and user.has_usable_password() and not is_staff),
        invited_at=latest.sent_at if latest else None,
        is_staff_login=is_staff,
    )
