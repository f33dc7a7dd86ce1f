"""Twilio's registration APIs: Trust Hub (the business), A2P 10DLC (brand, campaign) and
toll-free verification. A gateway module next to ``twilio``: it uses that module's client and
error translation (``twilio_client``, ``provider_call``) and never imports the SDK itself.

Each function is one piece of the registration as Twilio sees it and returns a
``RegistrationInfo``: Twilio's id, its status word as Twilio spells it, and the reasons it gave
for a failure as (code, text) pairs. Turning those into our step statuses is the services' job
(``broadcasts.registration.services``). The outbox has the same functions in
``broadcasts.providers.outbox_registration`` (everything approved at once).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from broadcasts.providers.twilio import provider_call, twilio_client

logger = logging.getLogger(__name__)

# Trust Hub policies (Twilio's fixed ids): the secondary customer profile an ISV creates for
# each of its customers, the starter profile of a sole proprietor, and the A2P messaging
# profile (the trust product a brand is registered from).
PROFILE_POLICY = "RNdfbf3fae0e1107f8aded0e7cead80bf5"
STARTER_PROFILE_POLICY = "RN806dd6cd175f314e1f96a9727ee271f4"
A2P_POLICY = "RNb0d4771c2c98518d916a3d4cd70a8f8b"
STARTER_A2P_POLICY = "RN670d5d2e282a6130ae063b234b6019c8"


@dataclass(frozen=True, slots=True)
class RegistrationInfo:
    """What Twilio says about one registration resource."""

    sid: str
    status: str
    errors: tuple[tuple[int | None, str], ...] = ()
    ids: dict[str, str] = field(default_factory=dict)


def _code(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _errors(raw: Any) -> tuple[tuple[int | None, str], ...]:
    """Twilio's ``errors`` lists: dicts with ``code``/``error_code`` and a description."""
    found = []
    for item in raw or ():
        if isinstance(item, Mapping):
            code = _code(item.get("code", item.get("error_code")))
            text = str(item.get("description") or item.get("message") or item.get("reason") or "")
            found.append((code, text))
        else:
            found.append((_code(item), str(item)))
    return tuple(found)


# --- Trust Hub: the business ------------------------------------------------------------------


def _end_user(*, sid: str, name: str, kind: str, attributes: Mapping[str, Any]) -> str:
    """Create (or, given a sid, update) one EndUser; returns its sid."""
    users = twilio_client().trusthub.v1.end_users
    if sid:
        provider_call(lambda: users(sid).update(friendly_name=name, attributes=dict(attributes)))
        return sid
    user = provider_call(
        lambda: users.create(friendly_name=name, type=kind, attributes=dict(attributes))
    )
    return user.sid


def _address_document(*, known: dict[str, str], name: str, address: Mapping[str, str]) -> bool:
    """The business address as Trust Hub wants it: an Address (api.twilio.com) referenced by a
    ``customer_profile_address`` supporting document. Updated in place on a resubmission;
    True when the document is new (and must still be assigned to the profile)."""
    client = twilio_client()
    fields = {
        "customer_name": name,
        "street": address["street"],
        "city": address["city"],
        "region": address["region"],
        "postal_code": address["postal_code"],
        "iso_country": address["iso_country"],
    }
    if known.get("address"):
        # An address keeps its country; the rest can be corrected in place.
        changes = {k: v for k, v in fields.items() if k != "iso_country"}
        provider_call(lambda: client.addresses(known["address"]).update(**changes))
    else:
        known["address"] = provider_call(lambda: client.addresses.create(**fields)).sid
    documents = client.trusthub.v1.supporting_documents
    attributes = {"address_sids": known["address"]}
    if known.get("address_document"):
        document = known["address_document"]
        provider_call(lambda: documents(document).update(attributes=attributes))
        return False
    created = provider_call(
        lambda: documents.create(
            friendly_name=f"{name}: address", type="customer_profile_address", attributes=attributes
        )
    )
    known["address_document"] = created.sid
    return True


def profile_submit(
    *,
    name: str,
    email: str,
    business: Mapping[str, Any],
    address: Mapping[str, str],
    representative: Mapping[str, Any],
    a2p: Mapping[str, Any],
    sole_proprietor: bool,
    status_callback: str,
    ids: Mapping[str, str],
) -> RegistrationInfo:
    """The business as Trust Hub needs it for A2P: a customer profile (business information
    and authorized representative assigned, evaluated, submitted for review) and the A2P
    messaging profile (trust product) built on it. ``ids`` from an earlier attempt are reused,
    so a resubmission updates what Twilio has instead of creating it twice."""
    known = dict(ids)
    hub = twilio_client().trusthub.v1
    policy = STARTER_PROFILE_POLICY if sole_proprietor else PROFILE_POLICY
    if not known.get("profile"):
        profile = provider_call(
            lambda: hub.customer_profiles.create(
                friendly_name=name, email=email, policy_sid=policy, status_callback=status_callback
            )
        )
        known["profile"] = profile.sid
    profile_sid = known["profile"]
    fresh_business = not known.get("business_user")
    fresh_person = not known.get("representative_user")
    known["business_user"] = _end_user(
        sid=known.get("business_user", ""),
        name=f"{name}: business",
        kind="customer_profile_business_information",
        attributes=business,
    )
    known["representative_user"] = _end_user(
        sid=known.get("representative_user", ""),
        name=f"{name}: authorized representative",
        kind="authorized_representative_1",
        attributes=representative,
    )
    fresh_address = _address_document(known=known, name=name, address=address)
    for sid, fresh in (
        (known["business_user"], fresh_business),
        (known["representative_user"], fresh_person),
        (known["address_document"], fresh_address),
    ):
        if fresh:
            provider_call(
                lambda sid=sid: hub.customer_profiles(
                    profile_sid
                ).customer_profiles_entity_assignments.create(object_sid=sid)
            )
    provider_call(
        lambda: hub.customer_profiles(profile_sid).customer_profiles_evaluations.create(
            policy_sid=policy
        )
    )
    profile = provider_call(
        lambda: hub.customer_profiles(profile_sid).update(status="pending-review")
    )
    _trust_product_submit(
        known=known,
        name=name,
        email=email,
        a2p=a2p,
        sole_proprietor=sole_proprietor,
        status_callback=status_callback,
    )
    return RegistrationInfo(
        sid=profile_sid,
        status=profile.status or "pending-review",
        errors=_errors(profile.errors),
        ids=known,
    )


def _trust_product_submit(
    *,
    known: dict[str, str],
    name: str,
    email: str,
    a2p: Mapping[str, Any],
    sole_proprietor: bool,
    status_callback: str,
) -> None:
    hub = twilio_client().trusthub.v1
    policy = STARTER_A2P_POLICY if sole_proprietor else A2P_POLICY
    if not known.get("trust_product"):
        product = provider_call(
            lambda: hub.trust_products.create(
                friendly_name=f"{name}: A2P messaging",
                email=email,
                policy_sid=policy,
                status_callback=status_callback,
            )
        )
        known["trust_product"] = product.sid
    product_sid = known["trust_product"]
    fresh = not known.get("a2p_user")
    known["a2p_user"] = _end_user(
        sid=known.get("a2p_user", ""),
        name=f"{name}: A2P messaging profile",
        kind="us_a2p_messaging_profile_information",
        attributes=a2p,
    )
    if fresh:
        assignments = hub.trust_products(product_sid).trust_products_entity_assignments
        for sid in (known["a2p_user"], known["profile"]):
            provider_call(lambda sid=sid: assignments.create(object_sid=sid))
    provider_call(
        lambda: hub.trust_products(product_sid).trust_products_evaluations.create(policy_sid=policy)
    )
    provider_call(lambda: hub.trust_products(product_sid).update(status="pending-review"))


def profile_fetch(*, sid: str, trust_product_sid: str = "") -> RegistrationInfo:
    """The customer profile's status; with the trust product's, the less advanced of the two
    (a rejected or still reviewed trust product holds the profile step back too)."""
    hub = twilio_client().trusthub.v1
    profile = provider_call(lambda: hub.customer_profiles(sid).fetch())
    info = RegistrationInfo(sid=sid, status=profile.status, errors=_errors(profile.errors))
    if not trust_product_sid or profile.status != "twilio-approved":
        return info
    product = provider_call(lambda: hub.trust_products(trust_product_sid).fetch())
    return RegistrationInfo(sid=sid, status=product.status, errors=_errors(product.errors))


# --- A2P 10DLC: brand and campaign ------------------------------------------------------------


def brand_create(
    *,
    customer_profile_sid: str,
    a2p_profile_sid: str,
    brand_type: str,
    skip_secondary_vetting: bool,
) -> RegistrationInfo:
    brand = provider_call(
        lambda: twilio_client().messaging.v1.brand_registrations.create(
            customer_profile_bundle_sid=customer_profile_sid,
            a2p_profile_bundle_sid=a2p_profile_sid,
            brand_type=brand_type,
            skip_automatic_sec_vet=skip_secondary_vetting,
        )
    )
    return _brand_info(brand)


def _brand_info(brand: Any) -> RegistrationInfo:
    errors = _errors(brand.errors)
    if not errors and brand.failure_reason:
        errors = ((None, str(brand.failure_reason)),)
    return RegistrationInfo(sid=brand.sid, status=brand.status, errors=errors)


def brand_fetch(*, sid: str) -> RegistrationInfo:
    return _brand_info(
        provider_call(lambda: twilio_client().messaging.v1.brand_registrations(sid).fetch())
    )


def brand_find(*, customer_profile_sid: str) -> RegistrationInfo | None:
    """The brand registered from this customer profile, if one exists (a create whose answer
    was lost may still have been carried out)."""
    brands = provider_call(
        lambda: twilio_client().messaging.v1.brand_registrations.list(limit=1000)
    )
    for brand in brands:
        if brand.customer_profile_bundle_sid == customer_profile_sid:
            return _brand_info(brand)
    return None


def brand_otp_resend(*, sid: str) -> None:
    """Text the sole proprietor's contact the confirmation code again (they reply YES)."""
    brand = twilio_client().messaging.v1.brand_registrations(sid)
    provider_call(lambda: brand.brand_registration_otps.create())


def brand_resubmit(*, sid: str) -> RegistrationInfo:
    """A failed brand goes back to review with the (updated) Trust Hub profile it points at."""
    return _brand_info(
        provider_call(lambda: twilio_client().messaging.v1.brand_registrations(sid).update())
    )


def _campaign_info(campaign: Any) -> RegistrationInfo:
    return RegistrationInfo(
        sid=campaign.sid, status=campaign.campaign_status or "", errors=_errors(campaign.errors)
    )


def campaign_create(
    *, messaging_service_sid: str, brand_sid: str, fields: Mapping[str, Any]
) -> RegistrationInfo:
    """The campaign (Compliance/Usa2p) on the organization's Messaging Service. ``fields``:
    the SDK's keyword arguments (description, message_flow, message_samples, …)."""
    campaigns = twilio_client().messaging.v1.services(messaging_service_sid).us_app_to_person
    return _campaign_info(
        provider_call(lambda: campaigns.create(brand_registration_sid=brand_sid, **fields))
    )


def campaign_fetch(*, messaging_service_sid: str, sid: str) -> RegistrationInfo:
    service = twilio_client().messaging.v1.services(messaging_service_sid)
    return _campaign_info(provider_call(lambda: service.us_app_to_person(sid).fetch()))


def campaign_find(*, messaging_service_sid: str) -> RegistrationInfo | None:
    """The campaign already on the Messaging Service, if any (a service holds one)."""
    service = twilio_client().messaging.v1.services(messaging_service_sid)
    campaigns = provider_call(lambda: service.us_app_to_person.list(limit=20))
    return _campaign_info(campaigns[0]) if campaigns else None


def campaign_delete(*, messaging_service_sid: str, sid: str) -> None:
    """A failed campaign is deleted and created again with the corrected answers."""
    service = twilio_client().messaging.v1.services(messaging_service_sid)
    provider_call(lambda: service.us_app_to_person(sid).delete())


# --- toll-free verification -------------------------------------------------------------------


def _tollfree_info(verification: Any) -> RegistrationInfo:
    errors: list[tuple[int | None, str]] = list(_errors(verification.rejection_reasons))
    if not errors and (verification.error_code or verification.rejection_reason):
        errors.append((_code(verification.error_code), str(verification.rejection_reason or "")))
    return RegistrationInfo(sid=verification.sid, status=verification.status, errors=tuple(errors))


def tollfree_create(*, fields: Mapping[str, Any]) -> RegistrationInfo:
    verifications = twilio_client().messaging.v1.tollfree_verifications
    return _tollfree_info(provider_call(lambda: verifications.create(**fields)))


def tollfree_fetch(*, sid: str) -> RegistrationInfo:
    verifications = twilio_client().messaging.v1.tollfree_verifications
    return _tollfree_info(provider_call(lambda: verifications(sid).fetch()))


def tollfree_find(*, tollfree_phone_number_sid: str) -> RegistrationInfo | None:
    verifications = twilio_client().messaging.v1.tollfree_verifications
    found = provider_call(
        lambda: verifications.list(tollfree_phone_number_sid=tollfree_phone_number_sid, limit=20)
    )
    return _tollfree_info(found[0]) if found else None


def tollfree_resubmit(*, sid: str, fields: Mapping[str, Any], edit_reason: str) -> RegistrationInfo:
    """A rejected verification is edited in place (Twilio keeps its place in the queue)."""
    verifications = twilio_client().messaging.v1.tollfree_verifications
    fixed = {"tollfree_phone_number_sid", "external_reference_id", "customer_profile_sid"}
    update = {k: v for k, v in fields.items() if k not in fixed}
    return _tollfree_info(
        provider_call(lambda: verifications(sid).update(edit_reason=edit_reason, **update))
    )
