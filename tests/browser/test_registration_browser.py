"""Settings > SMS & Voice > Texting registration in a browser, at 1280 and 375 px: the guided
form with our defaults and the fees before anything is submitted, then a campaign the
carriers turned down (30544) showing what to change, fixed and resubmitted to the stand-in.

Screenshots: docs/registration-draft-*.png and docs/registration-failed-*.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from broadcasts.models import RegistrationStep, TextingRegistration
from broadcasts.providers.twilio import reset_client
from smsvoice.models import StaffMember
from tests.broadcasts.registration.test_registration_flow import business_form, campaign_form
from tests.credits.factories import fund
from tests.factories import SendingNumberFactory, StaffMemberFactory
from tests.twilio_standin import TwilioStandin, point_settings_at
from tests.twilio_standin.registration import approve

pytestmark = pytest.mark.browser
DOCS = Path(__file__).resolve().parents[2] / "docs"
Step = RegistrationStep
SERVICE = "MG" + "2" * 32


def unprefixed(data: dict, prefix: str) -> dict:
    return {k.removeprefix(prefix + "-"): v for k, v in data.items()}


@pytest.fixture
def admin(org):
    SendingNumberFactory(organization=org, e164="+12025550142", messaging_service_sid=SERVICE)
    fund(org, 1000)
    return StaffMemberFactory(
        organization=org, role=StaffMember.Role.ADMIN, email="owner@gym.test", title="Owner"
    )


@pytest.fixture
def standin(settings):
    with TwilioStandin() as standin:
        settings.TWILIO_ACCOUNT_SID = standin.account_sid
        settings.TWILIO_AUTH_TOKEN = standin.auth_token
        point_settings_at(settings, standin.base_url)
        settings.SMS_BACKEND = "twilio"
        reset_client()
        yield standin
        reset_client()


def fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"the page is {width}px wide in a {viewport}px window"


def failed_campaign(org, standin) -> RegistrationStep:
    """A registration whose profile and brand are approved and whose campaign was refused."""
    TextingRegistration.objects.create(
        organization=org,
        business=unprefixed(business_form(state="IL", contact_phone="+12025550100"), "business"),
        campaign=unprefixed(campaign_form(), "campaign")
        | {"has_embedded_links": False, "has_embedded_phone": False},
    )
    Step.objects.create(organization=org, kind=Step.Kind.PROFILE, status=Step.Status.APPROVED)
    brand = standin.registration._create("brand", {})
    standin.registration.approve(brand.sid)
    Step.objects.create(
        organization=org, kind=Step.Kind.BRAND, status=Step.Status.APPROVED, provider_sid=brand.sid
    )
    return Step.objects.create(
        organization=org,
        kind=Step.Kind.CAMPAIGN,
        status=Step.Status.FAILED,
        error_code=30544,
        error_text="Call-to-Action does not state the message purpose",
        provider_ids={"messaging_service": SERVICE},
    )


@pytest.mark.parametrize("width", [1280, 375])
def test_the_form_shows_defaults_and_fees_before_submitting(
    width, page, mobile_page, live_server, log_in, admin, standin
):
    screen = page if width == 1280 else mobile_page
    log_in(admin.user, on=screen)
    screen.goto(live_server.url + "/broadcasts/registration/")
    expect(screen.get_by_role("heading", name="Texting registration")).to_be_visible()
    expect(screen.get_by_label("Legal business name")).to_have_value("Demo Gym")
    expect(screen.get_by_test_id("fees")).to_contain_text("US$19.41")
    expect(screen.get_by_test_id("fee-credits")).to_contain_text("647 credits")
    expect(screen.get_by_test_id("submit")).to_contain_text("647 credits")
    expect(screen.get_by_test_id("replies")).to_contain_text("STOP")
    expect(screen.get_by_test_id("registration-blocker")).to_contain_text("registered")
    fits(screen)
    screen.screenshot(path=str(DOCS / f"registration-draft-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", [1280, 375])
def test_a_refused_campaign_says_what_to_change_and_is_resubmitted(
    width, page, mobile_page, live_server, log_in, admin, org, standin
):
    screen = page if width == 1280 else mobile_page
    failed_campaign(org, standin)
    standin.registration.script("campaign", approve(after=0.05))
    log_in(admin.user, on=screen)
    screen.goto(live_server.url + "/broadcasts/registration/")
    expect(screen.get_by_test_id("status-campaign")).to_have_text("Failed")
    fix = screen.get_by_test_id("fix-campaign")
    expect(fix).to_contain_text("Twilio error 30544")
    expect(fix).to_contain_text("say what families will get")
    fits(screen)
    screen.screenshot(path=str(DOCS / f"registration-failed-{width}.png"), full_page=True)

    flow = screen.get_by_label("How families opt in")
    flow.fill(
        "Parents opt in on the Demo Gym parent portal to get class updates, schedule "
        "changes and closures. Message frequency varies. Reply HELP for help, STOP to opt out."
    )
    screen.get_by_test_id("resubmit").click()
    expect(screen.get_by_test_id("status-campaign")).to_have_text("Submitted")
    sent = standin.registration.of_kind("campaign")[0].fields
    assert "class updates, schedule changes and closures" in sent["MessageFlow"]
