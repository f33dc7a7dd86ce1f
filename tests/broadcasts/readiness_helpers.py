"""An organization whose carrier path is approved, as production data looks once it is: its
Messaging Service ready with the sending number in the pool and, in the US, its brand and
campaign approved (toll-free numbers: the verification).

The number's own ``messaging_service_sid`` is left as the test made it: tests of the plain
From path keep it blank (the stand-in then knows no pool to send from), tests of the service
path set it and register the pool with the stand-in.
"""

from __future__ import annotations

from broadcasts.models import MessagingService, SendingNumber
from broadcasts.registration.models import RegistrationStep
from broadcasts.registration.readiness import is_tollfree
from smsvoice.models import Organization

Step = RegistrationStep


def texting_approved(org: Organization, number: SendingNumber) -> MessagingService:
    service, _ = MessagingService.objects.update_or_create(
        organization=org,
        defaults={
            "sid": number.messaging_service_sid or "MG" + f"{org.pk:032x}",
            "state": MessagingService.State.READY,
            "pool_number_sid": number.provider_sid,
            "pool_e164": number.e164,
        },
    )
    kinds = (
        [Step.Kind.TOLLFREE] if is_tollfree(number.e164) else [Step.Kind.BRAND, Step.Kind.CAMPAIGN]
    )
    for kind in kinds:
        Step.objects.update_or_create(
            organization=org, kind=kind, defaults={"status": Step.Status.APPROVED}
        )
    return service
