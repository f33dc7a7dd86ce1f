"""The outbox's registration "provider" (embedded default and demo): nothing leaves the app and
every registration is approved at once, so the demo walks through the form and the statuses
without Twilio. Same functions, arguments and results as ``twilio_registration``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from broadcasts.providers.twilio_registration import RegistrationInfo


def _sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def profile_submit(*, ids: Mapping[str, str], **_: Any) -> RegistrationInfo:
    known = dict(ids)
    known.setdefault("profile", _sid("BU"))
    known.setdefault("trust_product", _sid("BU"))
    return RegistrationInfo(sid=known["profile"], status="twilio-approved", ids=known)


def profile_fetch(*, sid: str, trust_product_sid: str = "") -> RegistrationInfo:
    return RegistrationInfo(sid=sid, status="twilio-approved")


def brand_create(**_: Any) -> RegistrationInfo:
    return RegistrationInfo(sid=_sid("BN"), status="APPROVED")


def brand_fetch(*, sid: str) -> RegistrationInfo:
    return RegistrationInfo(sid=sid, status="APPROVED")


def brand_resubmit(*, sid: str) -> RegistrationInfo:
    return RegistrationInfo(sid=sid, status="APPROVED")


def campaign_create(**_: Any) -> RegistrationInfo:
    return RegistrationInfo(sid=_sid("QE"), status="VERIFIED")


def campaign_fetch(*, messaging_service_sid: str, sid: str) -> RegistrationInfo:
    return RegistrationInfo(sid=sid, status="VERIFIED")


def campaign_delete(*, messaging_service_sid: str, sid: str) -> None:
    return None


def tollfree_create(**_: Any) -> RegistrationInfo:
    return RegistrationInfo(sid=_sid("HH"), status="TWILIO_APPROVED")


def tollfree_fetch(*, sid: str) -> RegistrationInfo:
    return RegistrationInfo(sid=sid, status="TWILIO_APPROVED")


def tollfree_resubmit(*, sid: str, **_: Any) -> RegistrationInfo:
    return RegistrationInfo(sid=sid, status="TWILIO_APPROVED")


def brand_find(**_: Any) -> RegistrationInfo | None:
    return None


def campaign_find(**_: Any) -> RegistrationInfo | None:
    return None


def tollfree_find(**_: Any) -> RegistrationInfo | None:
    return None


def brand_otp_resend(*, sid: str) -> None:
    return None
