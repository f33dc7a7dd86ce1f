"""Settings > SMS & Voice in a real browser at 1280 and 375 px: the sending-readiness checklist
(each item's state in words and its fix), Australia's sender ID form (refused with the reason,
then accepted), and the compose window's refusal before anyone types. Screenshots in docs/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from broadcasts.messaging_services import messaging_service_ensure
from broadcasts.models import MessagingService
from smsvoice.models import Organization
from tests.broadcasts.sms_helpers import family_with_number, give_credits
from tests.factories import OrganizationFactory, SendingNumberFactory, StaffMemberFactory

pytestmark = pytest.mark.browser
DOCS = Path(__file__).resolve().parents[2] / "docs"


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(DOCS / f"{name}-{page.viewport_size['width']}.png"), full_page=True)


def fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport, f"{page.url} scrolls sideways ({width}px wide at {viewport})"


@pytest.mark.parametrize("viewport", ["page", "mobile_page"])
def test_the_checklist_says_what_blocks_texting_and_how_to_fix_it(
    request, viewport, live_server, log_in, org, admin_member, settings
):
    settings.SMS_BACKEND = "twilio"  # the real rules; rendering the page asks Twilio nothing
    page = request.getfixturevalue(viewport)
    SendingNumberFactory(organization=org, e164="+14155550100")
    MessagingService.objects.create(
        organization=org,
        state=MessagingService.State.FAILED,
        last_error="Twilio said: Service Unavailable (error 20503)",
    )
    log_in(admin_member.user, on=page)

    page.goto(f"{live_server.url}/credits/settings/")

    checklist = page.get_by_test_id("readiness")
    expect(checklist.get_by_test_id("readiness-summary")).to_contain_text("Not yet")
    expect(checklist.get_by_test_id("check-number")).to_contain_text("(415) 555-0100")
    expect(checklist.get_by_test_id("check-service")).to_contain_text("Setting it up failed")
    expect(checklist.get_by_test_id("check-service").get_by_role("button")).to_have_text(
        "Try again"
    )
    expect(checklist.get_by_test_id("check-registration")).to_contain_text(
        "Texting needs your business registered with US carriers"
    )
    expect(checklist.get_by_test_id("check-credits").get_by_role("link")).to_have_text(
        "Buy credits"
    )
    expect(checklist.get_by_test_id("check-card")).to_contain_text("No card yet")
    fits(page)
    shot(page, "readiness-checklist")


@pytest.mark.parametrize("viewport", ["page", "mobile_page"])
def test_an_australian_admin_sets_a_sender_id(request, viewport, live_server, log_in, settings):
    settings.SMS_BACKEND = "outbox"
    page = request.getfixturevalue(viewport)
    org = OrganizationFactory(
        name="Bondi Swim", country=Organization.Country.AU, time_zone="Australia/Sydney"
    )
    admin = StaffMemberFactory(organization=org, role="admin", first_name="Kim", last_name="Lee")
    give_credits(org, 50)
    SendingNumberFactory(organization=org, e164="+61491570006")
    messaging_service_ensure(organization=org)  # local: the demo's service
    log_in(admin.user, on=page)
    page.goto(f"{live_server.url}/credits/settings/")

    form = page.get_by_test_id("sender-id")
    expect(page.get_by_test_id("check-registration")).to_contain_text(
        "Australian numbers need no carrier registration"
    )
    form.get_by_label("Sender ID", exact=True).fill("Bondi Swim")
    form.get_by_label("It is registered to us on the ACMA Sender ID Register").check()
    form.get_by_role("button", name="Use this sender ID").click()
    expect(page.get_by_text("A sender ID holds only letters A-Z and digits 0-9")).to_be_visible()
    expect(page.get_by_test_id("sender-id").get_by_label("Sender ID", exact=True)).to_have_value(
        "Bondi Swim"
    )
    fits(page)
    shot(page, "sender-id-refused")

    form = page.get_by_test_id("sender-id")
    form.get_by_label("Sender ID", exact=True).fill("BondiSwim")
    form.get_by_label("It is registered to us on the ACMA Sender ID Register").check()
    form.get_by_role("button", name="Use this sender ID").click()

    expect(page.get_by_text("Texts now show BondiSwim as the sender")).to_be_visible()
    expect(page.get_by_test_id("sender-id-current")).to_contain_text("by Kim Lee")
    assert MessagingService.objects.get(organization=org).alpha_sender_active
    fits(page)
    shot(page, "sender-id")


@pytest.mark.parametrize("viewport", ["page", "mobile_page"])
def test_the_compose_window_says_why_texting_is_refused_before_typing(
    request, viewport, live_server, log_in, org, staff_member, settings
):
    settings.SMS_BACKEND = "outbox"
    page = request.getfixturevalue(viewport)
    SendingNumberFactory(organization=org)  # no credits at all
    family_with_number(org)
    log_in(staff_member.user, on=page)
    page.goto(f"{live_server.url}/families/")
    page.get_by_role("checkbox", name="Select all on this page").check()
    page.get_by_role("region", name="Selected families").get_by_role("button", name="SMS").click()

    refusal = page.get_by_test_id("not-ready")
    expect(refusal).to_have_text(
        "There are no credits left: an admin buys credits in Settings > SMS & Voice. Ask an admin."
    )
    expect(page.locator("#send-button")).to_be_disabled()
    fits(page)
    shot(page, "compose-refused")
