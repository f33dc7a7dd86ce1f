"""The staff side on a small phone (375 px): one compact navigation bar, a bottom bar whose
SMS and Voice buttons keep their words, and tables that stack into "label: value" rows."""

import pytest
from playwright.sync_api import expect

from broadcasts.models import OutboxMessage
from tests.factories import FamilyFactory, SendingNumberFactory

pytestmark = pytest.mark.browser


def test_the_navigation_is_one_short_row_whose_sections_all_open(
    mobile_page, live_server, log_in, org, admin_member
):
    FamilyFactory(organization=org)
    page = log_in(admin_member.user)
    bar = page.locator("header.topbar")
    height = bar.bounding_box()["height"]
    assert height <= 60, f"the navigation is {height:.0f} px tall"
    links = page.get_by_role("navigation", name="Main").get_by_role("link")
    tops = {round(links.nth(i).bounding_box()["y"]) for i in range(links.count())}
    assert len(tops) == 1, f"the navigation wraps onto {len(tops)} lines"
    expect(bar.get_by_role("button", name="Log out")).to_be_in_viewport()
    # The sections past the screen's edge scroll into reach and open.
    settings = links.filter(has_text="Settings")
    settings.scroll_into_view_if_needed()
    settings.click()
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways ({width}px wide)"


def test_the_bottom_bars_sms_and_voice_buttons_show_their_words(
    mobile_page, live_server, log_in, org, staff_member
):
    FamilyFactory.create_batch(3, organization=org)
    page = log_in(staff_member.user)
    page.locator("input[data-select-row]").first.check()
    bar = page.get_by_role("region", name="Selected families")
    expect(bar).to_contain_text("1 family selected")
    for word in ("SMS", "Voice"):
        button = bar.get_by_role("button", name=word)
        expect(button).to_be_in_viewport()
        label = button.get_by_text(word, exact=True).bounding_box()
        assert label["width"] >= 20 and label["height"] >= 12, f"{word}'s word is hidden"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways ({width}px wide)"


def test_the_outbox_shows_each_message_as_labelled_rows(
    mobile_page, live_server, log_in, org, staff_member
):
    sender = SendingNumberFactory(organization=org, e164="+14155550100")
    OutboxMessage.objects.create(
        sid="SM" + "1" * 32, from_e164=sender.e164, to_e164="+12025550111", body="Gym closed"
    )
    page = log_in(staff_member.user)
    page.goto(f"{live_server.url}/broadcasts/outbox/")
    to_cell = page.get_by_role("cell", name="+12025550111")
    expect(to_cell).to_be_visible()
    label = to_cell.evaluate("cell => getComputedStyle(cell, '::before').content")
    assert label == '"To: "'
    header = page.get_by_role("columnheader", name="Message")
    expect(header).to_be_hidden()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the outbox scrolls sideways ({width}px wide)"
