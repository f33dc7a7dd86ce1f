"""May this organization text on its carrier path? The registration half of the sending gate.

``registration_blocker`` answers None when the path is approved or needs no registration, or
a sentence in plain words saying what is missing. The readiness gate (broadcasts.readiness)
calls it before a text broadcast is created and shows the same words in the compose window.

- the outbox backend (embedded default, demo): approved by construction;
- Canada and Australia: no 10DLC registration exists there;
- a US organization on Twilio: a local number needs its brand and campaign approved, a
  toll-free number its toll-free verification approved.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings

from broadcasts.registration.models import RegistrationStep
from smsvoice.models import Organization

SETTINGS_PATH = "Settings > SMS & Voice > Texting registration"
# North American toll-free area codes (NANP): texts from these need toll-free verification.
TOLLFREE_AREA_CODES = frozenset({"800", "833", "844", "855", "866", "877", "888"})

Step = RegistrationStep


def is_tollfree(e164: str) -> bool:
    return e164.startswith("+1") and e164[2:5] in TOLLFREE_AREA_CODES


def needs_registration(organization: Organization) -> bool:
    """Only US organizations sending through real Twilio register with carriers."""
    if settings.SMS_BACKEND == "outbox":
        return False
    return organization.country == Organization.Country.US


def sending_e164(organization: Organization) -> str:
    from broadcasts.models import SendingNumber

    number = SendingNumber.objects.for_org(organization).filter(status="active").first()
    return number.e164 if number else ""


def path_kinds(organization: Organization) -> tuple[str, ...]:
    """The steps that must be approved for this organization's sending number."""
    if is_tollfree(sending_e164(organization)):
        return (Step.Kind.TOLLFREE,)
    return (Step.Kind.BRAND, Step.Kind.CAMPAIGN)


def short_date(moment: datetime, organization: Organization) -> str:
    local = moment.astimezone(ZoneInfo(organization.time_zone))
    return f"{local.day} {local:%b}"


def registration_blocker(*, organization: Organization) -> str | None:
    if not needs_registration(organization):
        return None
    kinds = path_kinds(organization)
    # The business profile comes first and counts for "waiting" and "turned down" too.
    looked_at = (*kinds, Step.Kind.PROFILE) if Step.Kind.BRAND in kinds else kinds
    steps = {s.kind: s for s in Step.objects.for_org(organization).filter(kind__in=looked_at)}
    if all(k in steps and steps[k].status == Step.Status.APPROVED for k in kinds):
        return None
    return blocker_text(organization, kinds, steps)


def blocker_text(
    organization: Organization, kinds: tuple[str, ...], steps: dict[str, RegistrationStep]
) -> str:
    failed = [s for s in steps.values() if s.status == Step.Status.FAILED]
    if failed:
        return (
            "Texting is blocked: US carriers turned down your registration "
            f"({failed[0].get_kind_display().lower()}). See what to change in {SETTINGS_PATH}."
        )
    submitted = [s.submitted_at for s in steps.values() if s.waiting and s.submitted_at]
    if submitted:
        when = short_date(min(submitted), organization)
        return f"Texting is waiting for carrier approval of your registration, submitted {when}."
    if kinds == (Step.Kind.TOLLFREE,):
        return f"Texting needs your toll-free number verified with US carriers: {SETTINGS_PATH}."
    return f"Texting needs your business registered with US carriers: {SETTINGS_PATH}."
