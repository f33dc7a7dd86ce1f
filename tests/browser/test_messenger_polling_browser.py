"""The messenger's polls in a real browser: at 375 px the unread count is in the top bar,
on screen without scrolling (the navigation's row scrolls sideways and would hide it), and
changes without a reload; at 1280 px the count stays on the navigation's link. An open
thread's status badge and its buttons follow what another staff member and the phone do,
without a reload.

Set MESSENGER_SCREENSHOTS=docs to save the screenshots the README shows.
"""

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from broadcasts.conversations import services
from broadcasts.conversations.models import Conversation
from tests.broadcasts.conversations.helpers import text_in
from tests.broadcasts.sms_helpers import family_with_number, sender_ready
from tests.browser.shots import shot as screenshot
from tests.factories import StaffMemberFactory

pytestmark = pytest.mark.browser
GARCIA, LOPEZ = "+12025550123", "+12125550145"


@pytest.fixture
def phone(org, settings):
    """An organization that can text (the outbox, tasks in-process), two families who texted
    and a number nobody has on file; the messenger polls every second."""
    from smsvoice.celery import app

    settings.SMS_BACKEND = "outbox"
    settings.TWILIO_AUTH_TOKEN = "browser-test-token"
    settings.CONVERSATIONS_POLL_SECONDS = 1
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    sender_ready(org, credits=40)
    family_with_number(org, e164=GARCIA, name="Garcia", guardian="Ana")
    family_with_number(org, e164=LOPEZ, name="Lopez")
    client = Client()
    text_in(client, "Is practice still on tonight? The roads look icy.", sender=GARCIA)
    text_in(client, "Can we switch to the Saturday class?", sender=LOPEZ)
    text_in(client, "Wrong number, this is not Maria", sender="+16175550188")
    yield client
    app.conf.task_always_eager = before


def shot(page: Page, name: str) -> None:
    screenshot(page, name, folder_env="MESSENGER_SCREENSHOTS")


def assert_on_screen_without_scrolling(page: Page, locator) -> None:
    assert page.evaluate("[window.scrollX, window.scrollY]") == [0, 0]
    box = locator.bounding_box()
    assert box is not None, "not shown"
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"off screen sideways: {box}"
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, f"off screen: {box}"
    # Not cut off by the navigation's sideways-scrolling row either: the top bar's own.
    nav = page.get_by_role("navigation", name="Main").bounding_box()
    assert box["x"] >= nav["x"] + nav["width"], "inside the scrolling navigation"


def test_at_375_px_the_unread_count_is_in_the_top_bar_and_changes_without_a_reload(
    mobile_page, live_server, log_in, org, staff_member, phone
):
    page = log_in(staff_member.user)
    count = page.get_by_test_id("unread-count-top")
    expect(count).to_have_text("3")
    assert_on_screen_without_scrolling(page, count)
    icon = page.get_by_role("link", name="Messenger, 3 unread")
    expect(icon).to_be_in_viewport()
    bar = page.locator("header.topbar").bounding_box()
    assert bar["height"] <= 60, f"the top bar is {bar['height']:.0f} px tall"
    expect(page.get_by_test_id("unread-count")).to_be_hidden()  # the nav's link gives way
    shot(page, "messenger-topbar-375")

    page.evaluate("window.stillThisPage = true")
    text_in(phone, "Also, is there parking?", sender="+13125550160")
    expect(count).to_have_text("4")
    expect(page.get_by_role("link", name="Messenger, 4 unread")).to_be_visible()
    assert page.evaluate("window.stillThisPage") is True, "the page was reloaded"

    page.get_by_role("link", name="Messenger, 4 unread").click()
    expect(page.get_by_role("heading", name="Messenger")).to_be_visible()
    page.get_by_test_id("conversation-list").get_by_role("link", name="Garcia").click()
    expect(page.locator("#thread")).to_contain_text("Is practice still on tonight?")
    expect(count).to_have_text("3")  # reading it opened it
    assert_on_screen_without_scrolling(page, count)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways ({width} px)"


def test_without_unread_texts_the_icon_has_no_count_and_one_appears_when_a_text_comes(
    mobile_page, live_server, log_in, org, staff_member, phone
):
    Conversation.objects.update(status=Conversation.Status.OPEN, unread_count=0)
    page = log_in(staff_member.user)
    icon = page.get_by_role("link", name="Messenger", exact=True)
    expect(icon).to_be_visible()
    expect(page.get_by_test_id("unread-count-top")).to_have_count(0)
    text_in(phone, "Thanks!", sender=GARCIA)
    expect(page.get_by_test_id("unread-count-top")).to_have_text("1")


def test_at_1280_px_the_count_stays_on_the_navigations_link(
    page, live_server, log_in, org, staff_member, phone
):
    log_in(staff_member.user)
    expect(page.get_by_test_id("unread-count")).to_have_text("3")
    expect(page.get_by_test_id("messenger-icon")).to_be_hidden()
    text_in(phone, "Also, is there parking?", sender="+13125550160")
    expect(page.get_by_test_id("unread-count")).to_have_text("4")


def test_staff_who_may_not_view_text_logs_have_no_icon(
    mobile_page, live_server, log_in, org, phone
):
    member = StaffMemberFactory(organization=org, can_view_text_logs=False)
    page = log_in(member.user)
    expect(page.locator("header.topbar")).to_be_visible()
    expect(page.get_by_test_id("messenger-icon")).to_have_count(0)


@pytest.mark.parametrize("viewport", ["page", "mobile_page"])
def test_the_open_threads_status_follows_other_staff_and_the_phone_without_a_reload(
    request, viewport, live_server, log_in, org, staff_member, phone
):
    page: Page = request.getfixturevalue(viewport)
    log_in(staff_member.user, on=page)
    garcia = Conversation.objects.get(e164=GARCIA)
    page.goto(f"{live_server.url}/messenger/{garcia.pk}/")
    status = page.get_by_test_id("thread-status")
    expect(status).to_have_text("Open")
    thread = page.locator("#thread")
    expect(thread.get_by_role("button", name="Close")).to_be_visible()
    page.evaluate("window.stillThisPage = true")
    garcia.refresh_from_db()  # opening the page read it

    kim = StaffMemberFactory(organization=org, first_name="Kim", last_name="Lee")
    services.conversation_move(conversation=garcia, to=Conversation.Status.CLOSED, by=kim)
    expect(status).to_have_text("Closed")
    expect(thread.get_by_role("button", name="Reopen")).to_be_visible()
    expect(thread.get_by_role("button", name="Close")).to_have_count(0)
    services.conversation_assign(conversation=garcia, to=kim)
    expect(thread.get_by_role("button", name="Take it (from Kim Lee)")).to_be_visible()
    width = page.viewport_size["width"]
    shot(page, f"messenger-thread-closed-{width}")

    text_in(phone, "Sorry, one more question: is the gym heated?", sender=GARCIA)
    expect(status).to_have_text("Unread")
    expect(thread.get_by_test_id("timeline")).to_contain_text("is the gym heated?")
    expect(thread.get_by_role("button", name="Mark read")).to_be_visible()
    assert page.evaluate("window.stillThisPage") is True, "the page was reloaded"
    shot(page, f"messenger-thread-unread-{width}")

    # The buttons swapped in by the poll work: reading it again opens it.
    thread.get_by_role("button", name="Mark read").click()
    expect(status).to_have_text("Open")
    garcia.refresh_from_db()
    assert garcia.status == Conversation.Status.OPEN
