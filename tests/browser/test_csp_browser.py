"""The main pages under the Content-Security-Policy in a real browser: nothing is blocked."""

import pytest
from playwright.sync_api import expect

from broadcasts.models import Broadcast
from tests.broadcasts.sms_helpers import family_with_number, sender_ready
from tests.factories import FamilyFactory, GuardianFactory, UserFactory

pytestmark = pytest.mark.browser


def watch_violations(page) -> list[str]:
    """Console messages and securitypolicyviolation events of the page's documents."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: seen.append(message.text)
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text
        else None,
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', (e) => console.error("
        "'Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return seen


def test_staff_pages_break_no_rule(page, live_server, log_in, org, admin_member):
    violations = watch_violations(page)
    sender_ready(org, credits=20)
    family = family_with_number(org, name="Adams")
    broadcast = Broadcast.objects.create(
        organization=org, channel="sms", text="Hi", status="sending", from_e164="+14155550100"
    )
    log_in(admin_member.user)
    for path in (
        "/families/",
        "/students/",
        "/staff/",
        f"/families/{family.pk}/",
        "/credits/",
        "/credits/settings/",
        "/credits/buy/",
        "/settings/",
        "/broadcasts/",
        f"/broadcasts/{broadcast.pk}/",
        "/broadcasts/number/",
        "/broadcasts/audit/",
        "/broadcasts/outbox/",
    ):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
    page.goto(live_server.url + "/api/v1/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("smsvoice API")
    assert violations == []


def test_the_compose_dialog_enables_send_as_the_text_is_typed(
    page, live_server, log_in, org, staff_member
):
    violations = watch_violations(page)
    sender_ready(org, credits=20)
    family_with_number(org, name="Adams")
    log_in(staff_member.user)
    page.get_by_role("checkbox", name="Select all on this page").check()
    page.get_by_role("region", name="Selected families").get_by_role("button", name="SMS").click()
    dialog = page.get_by_role("dialog")
    send = dialog.get_by_role("button", name="Send…")
    expect(send).to_be_disabled()
    dialog.get_by_role("textbox", name="Message").fill("Gym closed today")
    expect(send).to_be_enabled()
    dialog.get_by_role("textbox", name="Message").fill("")
    expect(send).to_be_disabled()
    assert violations == []


def test_the_portal_breaks_no_rule(page, live_server, log_in, org):
    violations = watch_violations(page)
    user = UserFactory(username="maria@example.test")
    GuardianFactory(family=FamilyFactory(organization=org), user=user)
    page.goto(live_server.url + "/portal/login/")
    page.get_by_label("Email").fill(user.username)
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")
    page.goto(live_server.url + "/portal/policies/")
    assert violations == []
