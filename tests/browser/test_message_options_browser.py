"""Message options in a real browser, at 1280 and 375 px: an admin edits the header and footer
(a HELP reply without a CTIA part is refused, naming it), and the compose window counts the
header and footer, offers to leave them out in the US and says why it cannot in Canada.

Set MESSAGE_OPTIONS_SCREENSHOTS=docs to save the screenshots the README shows.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from broadcasts.sms import ctia
from tests.broadcasts.sms_helpers import family_with_number, sender_ready
from tests.factories import OrganizationFactory, StaffMemberFactory

pytestmark = pytest.mark.browser
VIEWPORTS = ["page", "mobile_page"]


def shot(page: Page, name: str, *, full: bool = False) -> None:
    folder = os.environ.get("MESSAGE_OPTIONS_SCREENSHOTS")
    if folder:
        width = page.viewport_size["width"]
        page.screenshot(path=str(Path(folder) / f"{name}-{width}.png"), full_page=full)


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page scrolls sideways ({width} px)"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_an_admin_sets_header_and_footer_and_a_help_reply_without_a_part_is_refused(
    request, viewport, live_server, log_in, org, admin_member
):
    page = request.getfixturevalue(viewport)
    log_in(admin_member.user, on=page)
    page.goto(live_server.url + "/credits/settings/")
    page.get_by_role("link", name="Message options").click()
    expect(page.get_by_role("heading", name="Message options", level=1)).to_be_visible()
    page.get_by_label("Header").fill("Demo Gym")
    page.get_by_label("Footer").fill("Reply STOP to opt out")
    help_box = page.get_by_label("HELP reply")
    help_box.fill(help_box.input_value().replace(" Msg & data rates may apply.", ""))
    page.get_by_role("button", name="Save").click()
    error = page.get_by_role("alert").filter(has_text="The HELP reply must include")
    expect(error).to_contain_text("“Msg & data rates may apply”")
    no_sideways_scroll(page)
    error.scroll_into_view_if_needed()
    shot(page, "message-options-refused")

    default = ctia.default_help_reply(org, ctia.message_options_for(org))
    page.get_by_label("HELP reply").fill(default)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved the message options.")).to_be_visible()
    sample = page.get_by_test_id("options-sample-text")
    expect(sample).to_contain_text("Demo Gym")
    expect(sample).to_contain_text("Reply STOP to opt out")
    expect(page.get_by_test_id("options-sample")).to_contain_text(
        "the header and footer add 31 characters"
    )
    no_sideways_scroll(page)
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "message-options")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_compose_window_counts_the_header_and_footer_and_can_leave_them_out(
    request, viewport, live_server, log_in, org, staff_member
):
    page = request.getfixturevalue(viewport)
    sender_ready(org, credits=20)
    options = ctia.message_options_for(org)
    options.header, options.footer = "Demo Gym", "Reply STOP to opt out"
    options.save()
    family_with_number(org)
    log_in(staff_member.user, on=page)
    page.get_by_role("checkbox", name="Select all on this page").check()
    page.get_by_role("region", name="Selected families").get_by_role("button", name="SMS").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_test_id("header-text")).to_have_text("Demo Gym")
    # 8 + 1 + typed + 1 + 21 = 161: one character over a single part
    dialog.get_by_label("Message").fill("Closed today. " + "x" * (161 - 31 - 14))
    expect(dialog.get_by_test_id("parts")).to_have_text("2 parts, 2 credits per recipient")
    expect(dialog.get_by_test_id("header-footer-counted")).to_contain_text(
        "header (8 characters) and the footer (21 characters)"
    )
    expect(dialog.get_by_test_id("sample-text")).to_contain_text("Reply STOP to opt out")
    no_sideways_scroll(page)
    dialog.get_by_test_id("parts").scroll_into_view_if_needed()
    shot(page, "compose-header-footer")

    dialog.get_by_label("Leave out the header and footer for this broadcast").check()
    expect(dialog.get_by_test_id("parts")).to_have_text("1 part, 1 credit per recipient")
    expect(dialog.get_by_test_id("sample-text")).not_to_contain_text("Reply STOP")


def test_in_canada_the_compose_window_says_why_the_footer_stays(
    mobile_page, live_server, log_in, db
):
    org = OrganizationFactory(name="Maple Swim", country="CA")
    sender_ready(org, credits=20)
    family_with_number(org)
    member = StaffMemberFactory(organization=org)
    log_in(member.user, on=mobile_page)
    page = mobile_page
    page.get_by_role("checkbox", name="Select all on this page").check()
    page.get_by_role("region", name="Selected families").get_by_role("button", name="SMS").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Message").fill("Pool closed today.")
    expect(dialog.get_by_test_id("header-footer-required")).to_contain_text(
        "Canada's anti-spam law (CASL) requires every text to identify the sender"
    )
    leave_out = dialog.get_by_label("Leave out the header and footer for this broadcast")
    expect(leave_out).to_have_count(0)
    expect(dialog.get_by_test_id("sample-text")).to_contain_text("Pool closed today.")
    assert dialog.get_by_test_id("sample-text").inner_text() == (
        "Pool closed today.\nMaple Swim: Reply STOP to opt out"
    )
    no_sideways_scroll(page)
    dialog.get_by_test_id("header-footer-required").scroll_into_view_if_needed()
    shot(page, "compose-footer-canada")
