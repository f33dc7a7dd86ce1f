"""Our real registration requests, as the gateway sends them, checked against Twilio's own
descriptions of the hosts they go to: Prism serving twilio_trusthub_v1.json (the business
profile, end users, the address document, assignments, evaluations, the A2P trust product),
twilio_api_v2010.json (the business's Address) and twilio_messaging_v1.json (brand, campaign,
toll-free verification), with --errors (a request the description does not
allow is a 422). The fields come from the services' own builders, from answers the forms
accepted, so what is checked is what an admin's submission sends.

Arrays: Twilio's SDK sends a list as the key repeated (``MessageSamples=a&MessageSamples=b``),
which is how Twilio reads form arrays; Prism 5.14 reads a repeated form key as one string and
says "must be array". ``accepted_lists`` lets exactly that violation through — for a property
we really sent as a list — and nothing else.
"""

from __future__ import annotations

import pytest

from broadcasts.providers import twilio as gateway
from broadcasts.providers import twilio_registration as registration
from broadcasts.providers.twilio import ProviderError
from broadcasts.registration import services
from broadcasts.registration.forms import BusinessForm, CampaignForm, TollfreeForm
from tests.broadcasts.registration.test_registration_flow import (
    business_form,
    campaign_form,
    tollfree_form,
)
from tests.broadcasts.test_twilio_contract import ACCOUNT_SID, accepted
from tests.factories import SendingNumberFactory

pytestmark = pytest.mark.django_db
SERVICE = "MG" + "0123456789abcdef" * 2
BRAND = "BN" + "0123456789abcdef" * 2
CAMPAIGN = "QE" + "0123456789abcdef" * 2
BUNDLE = "BU" + "0123456789abcdef" * 2
VERIFICATION = "HH" + "0123456789abcdef" * 2


LISTS = {"MessageSamples", "OptInKeywords", "OptOutKeywords", "HelpKeywords"}
LISTS |= {"UseCaseCategories", "OptInImageUrls"}


def accepted_lists(operation):
    try:
        return accepted(operation)
    except AssertionError as failure:
        error = failure.__cause__
        if not isinstance(error, ProviderError):
            raise
        violations = (error.details or {}).get("validation") or []
        others = [
            v
            for v in violations
            if not (
                v["code"] == "type"
                and v["location"][:1] == ["body"]
                and v["location"][-1] in LISTS
                and "must be array" in v["message"]
            )
        ]
        if error.status == 422 and violations and not others:
            return None
        raise


@pytest.fixture
def prisms(prism_for, settings):
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = "contract-test-token"
    settings.TWILIO_MESSAGING_API_BASE = prism_for("twilio_messaging_v1.json")
    settings.TWILIO_TRUSTHUB_API_BASE = prism_for("twilio_trusthub_v1.json")
    settings.TWILIO_API_BASE = prism_for("twilio_api_v2010.json")  # the business's Address
    settings.SMS_BACKEND = "twilio"
    gateway.reset_client()
    yield
    gateway.reset_client()


def cleaned(form_class, data: dict, prefix: str) -> dict:
    form = form_class(data, prefix=prefix)
    assert form.is_valid(), form.errors
    return form.cleaned_data


@pytest.fixture
def answers(org):
    SendingNumberFactory(organization=org, e164="+18885550142", provider_sid="PN" + "ab" * 16)
    return services.answers_save(
        organization=org,
        business=cleaned(BusinessForm, business_form(), "business"),
        campaign=cleaned(CampaignForm, campaign_form(), "campaign"),
        tollfree=cleaned(TollfreeForm, tollfree_form(), "tollfree"),
    )


def test_the_business_profile_and_trust_product_requests_are_what_trust_hub_accepts(
    prisms, answers
):
    business = answers.business
    info = accepted(
        lambda: registration.profile_submit(
            name=business["legal_name"],
            email=business["contact_email"],
            business=services.business_attributes(business),
            address=services.address_of(business),
            representative=services.representative_attributes(business),
            a2p=services.a2p_attributes(business),
            sole_proprietor=False,
            status_callback="https://app.example/broadcasts/webhooks/twilio/registration/",
            ids={},
        )
    )
    assert info is None or info.sid.startswith("BU")
    accepted(lambda: registration.profile_fetch(sid=BUNDLE, trust_product_sid=BUNDLE))


def test_a_resubmitted_profile_updates_the_end_users_twilio_has(prisms, answers):
    business = answers.business
    ids = {"profile": BUNDLE, "trust_product": BUNDLE}
    ids |= {k: "IT" + "0123456789abcdef" * 2 for k in ("business_user", "representative_user")}
    ids["a2p_user"] = "IT" + "0123456789abcdef" * 2
    ids["address"] = "AD" + "0123456789abcdef" * 2
    ids["address_document"] = "RD" + "0123456789abcdef" * 2
    accepted(
        lambda: registration.profile_submit(
            name=business["legal_name"],
            email=business["contact_email"],
            business=services.business_attributes(business),
            address=services.address_of(business),
            representative=services.representative_attributes(business),
            a2p=services.a2p_attributes(business),
            sole_proprietor=False,
            status_callback="https://app.example/cb",
            ids=ids,
        )
    )


def test_brand_requests_are_what_the_messaging_api_accepts(prisms):
    accepted(
        lambda: registration.brand_create(
            customer_profile_sid=BUNDLE,
            a2p_profile_sid=BUNDLE,
            brand_type="STANDARD",
            skip_secondary_vetting=True,
        )
    )
    accepted(lambda: registration.brand_fetch(sid=BRAND))
    accepted(lambda: registration.brand_find(customer_profile_sid=BUNDLE))
    accepted(lambda: registration.brand_resubmit(sid=BRAND))
    accepted(lambda: registration.brand_otp_resend(sid=BRAND))


def test_campaign_requests_are_what_the_messaging_api_accepts(prisms, org, answers):
    fields = services.campaign_fields(organization=org)
    accepted_lists(
        lambda: registration.campaign_create(
            messaging_service_sid=SERVICE, brand_sid=BRAND, fields=fields
        )
    )
    accepted(lambda: registration.campaign_fetch(messaging_service_sid=SERVICE, sid=CAMPAIGN))
    accepted(lambda: registration.campaign_find(messaging_service_sid=SERVICE))
    accepted(lambda: registration.campaign_delete(messaging_service_sid=SERVICE, sid=CAMPAIGN))


def test_toll_free_verification_requests_are_what_the_messaging_api_accepts(prisms, org, answers):
    fields = services.tollfree_fields(organization=org)
    assert fields["tollfree_phone_number_sid"].startswith("PN")
    accepted_lists(lambda: registration.tollfree_create(fields=fields))
    accepted(lambda: registration.tollfree_fetch(sid=VERIFICATION))
    accepted(
        lambda: registration.tollfree_find(
            tollfree_phone_number_sid=fields["tollfree_phone_number_sid"]
        )
    )
    accepted_lists(
        lambda: registration.tollfree_resubmit(
            sid=VERIFICATION, fields=fields, edit_reason="Corrected as the review asked"
        )
    )


def test_prism_refuses_a_campaign_without_its_required_fields(prisms):
    with pytest.raises(AssertionError, match="Prism refused"):
        accepted_lists(
            lambda: registration.campaign_create(
                messaging_service_sid=SERVICE,
                brand_sid=BRAND,
                fields={
                    "description": "",
                    "message_flow": "",
                    "message_samples": [],
                    "us_app_to_person_usecase": "",
                    "has_embedded_links": False,
                    "has_embedded_phone": False,
                },
            )
        )
