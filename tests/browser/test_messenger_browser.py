"""The messenger in a real browser at 1280 and 375 px: the navigation's unread count changing
without a reload when a text arrives (htmx polling), the thread beside the list on a wide
screen and on its own at 375 px, and a reply counted as it is typed, then sent.

Set MESSENGER_SCREENSHOTS=docs to save the screenshots the README shows.
"""

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from broadcasts.conversations.models import Conversation
from broadcasts.models import OutboxMessage
from families.models import ConsentEvent
from families.services import consent_record
from tests.broadcasts.conversations.helpers import text_in
from tests.broadcasts.sms_helpers import family_with_number, sender_ready
from tests.browser.shots import shot as screenshot
from tests.factories import PhoneNumberFactory, StaffMemberFactory

pytestmark = pytest.mark.browser
GARCIA, LOPEZ, COACH = "+12025550123", "+12125550145", "+13125550160"


@pytest.fixture
def messenger(org, settings):
    """An organization that can text (the outbox, tasks in-process) with three threads."""
    from smsvoice.celery import app

    settings.SMS_BACKEND = "outbox"
    settings.TWILIO_AUTH_TOKEN = "browser-test-token"
    settings.CONVERSATIONS_POLL_SECONDS = 1
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    sender_ready(org, credits=40)
    family_with_number(org, e164=GARCIA, name="Garcia", guardian="Ana")
    family_with_number(org, e164=LOPEZ, name="Lopez")
    coach = StaffMemberFactory(organization=org, first_name="Sam", last_name="Rivera")
    number = PhoneNumberFactory(
        family=None, field=None, staff_member=coach, e164=COACH, organization=org
    )
    consent_record(
        phone_number=number, opted_in=True, source=ConsentEvent.Source.STAFF_WITH_CONSENT
    )
    phone = Client()
    text_in(phone, "Is practice still on tonight? The roads look icy.", sender=GARCIA)
    text_in(phone, "Can I swap my Saturday class?", sender=COACH)
    text_in(phone, "Wrong number, this is not Maria", sender="+16175550188")
    yield phone
    app.conf.task_always_eager = before


def shot(page: Page, name: str) -> None:
    screenshot(page, name, folder_env="MESSENGER_SCREENSHOTS")


def assert_fits_the_screen(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} scrolls sideways ({width} px)"


def test_the_unread_count_changes_without_a_reload_and_staff_reply_beside_the_list(
    page, live_server, log_in, org, staff_member, messenger
):
    log_in(staff_member.user)
    badge = page.get_by_test_id("unread-count")
    expect(badge).to_have_text("3")
    page.evaluate("window.stillThisPage = true")
    text_in(messenger, "Also, is there parking?", sender=LOPEZ)
    expect(badge).to_have_text("4")
    assert page.evaluate("window.stillThisPage") is True, "the page was reloaded"

    page.get_by_role("link", name="Messenger").click()
    rows = page.get_by_test_id("conversation-list")
    expect(rows.get_by_role("listitem")).to_have_count(4)
    expect(rows).to_contain_text("Unknown number")
    rows.get_by_role("link", name="Garcia").click()
    thread = page.locator("#thread")
    expect(thread).to_contain_text("Is practice still on tonight?")
    expect(badge).to_have_text("3")  # reading it opened it
    listed, shown = page.locator(".conv-list").bounding_box(), thread.bounding_box()
    assert listed["x"] + listed["width"] <= shown["x"], "the thread is beside the list"

    thread.get_by_label("Reply").fill("Yes, we are open. Drive safe!")
    expect(thread.get_by_test_id("chars-left")).to_contain_text("characters left")
    expect(thread.get_by_test_id("credits-needed")).to_have_text("1")
    shot(page, "messenger-1280")
    thread.get_by_role("button", name="Send reply").click()
    expect(page.locator(".messages")).to_contain_text("Reply sent.")
    expect(thread).to_contain_text("Reply by")
    page.evaluate("window.stillThisPage = true")
    text_in(messenger, "Great, thanks!", sender=GARCIA)
    expect(thread.get_by_test_id("timeline")).to_contain_text("Great, thanks!")
    expect(page.get_by_test_id("conversation-list").locator(".current")).to_contain_text(
        "Great, thanks!"
    )
    assert page.evaluate("window.stillThisPage") is True, "the page was reloaded"
    shot(page, "messenger-thread-1280")
    sent = OutboxMessage.objects.get(to_e164=GARCIA)
    assert "Yes, we are open. Drive safe!" in sent.body
    assert Conversation.objects.get(e164=GARCIA).assignee == staff_member
    assert_fits_the_screen(page)

    text_in(messenger, "Please cancel Emma's enrollment", sender=LOPEZ)
    text_in(messenger, "HELP", sender=LOPEZ)
    page.get_by_test_id("conversation-list").get_by_role("link", name="Lopez").click()
    review = page.get_by_test_id("revocation-review")
    expect(review).to_contain_text("May revoke consent")
    expect(page.get_by_test_id("keyword")).to_have_text("HELP")
    shot(page, "messenger-review-1280")
    review.get_by_role("button", name="Not a revocation").click()
    expect(page.get_by_test_id("revocation-decided")).to_contain_text("Not a revocation")


def test_at_375_px_the_list_and_the_thread_are_one_at_a_time(
    mobile_page, live_server, log_in, org, staff_member, messenger
):
    page = mobile_page
    log_in(staff_member.user)
    page.goto(f"{live_server.url}/messenger/")
    rows = page.get_by_test_id("conversation-list")
    expect(rows.get_by_role("listitem")).to_have_count(3)
    assert_fits_the_screen(page)
    shot(page, "messenger-list-375")
    rows.get_by_role("link", name="Sam Rivera").click()
    thread = page.locator("#thread")
    expect(thread).to_contain_text("Can I swap my Saturday class?")
    expect(page.locator(".conv-list")).to_be_hidden()
    thread.get_by_label("Reply").fill("Sure — which class? 🙂")
    expect(thread.get_by_test_id("ucs2-warning")).to_be_visible()
    assert_fits_the_screen(page)
    shot(page, "messenger-thread-375")
    thread.get_by_role("link", name="‹ All conversations").click()
    expect(page.get_by_test_id("conversation-list")).to_be_visible()
