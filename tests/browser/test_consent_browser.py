"""Replies to review and a number's consent history in a real browser at 1280 and 375 px:
an unclear reply decided by staff with a click, and the history naming the source, the
customer's words, the time, the policy version and the automatic answers.

Set CONSENT_SCREENSHOTS=docs to save the screenshots the README shows.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from broadcasts.sms.replies import inbound_sms_handle
from families.models import RevocationReview
from families.services import policy_publish
from tests.broadcasts.sms_helpers import family_with_number
from tests.factories import SendingNumberFactory

pytestmark = pytest.mark.browser
SENDING = "+14155550100"
RIVERA, CHEN, PARK = "+12025550123", "+12125550145", "+13125550160"


@pytest.fixture
def replies(org):
    policy_publish(organization=org, text="We text about classes and closures.", actor=None)
    SendingNumberFactory(organization=org, e164=SENDING)
    rivera = family_with_number(org, e164=RIVERA, name="Rivera", guardian="Ana")
    family_with_number(org, e164=CHEN, name="Chen")
    family_with_number(org, e164=PARK, name="Park")
    for sender, body in [
        (RIVERA, "HELP"),
        (RIVERA, "Can I cancel Tuesday's lesson? Maya has a dentist appointment"),
        (CHEN, "My son wants to quit gymnastics after this term, what do we do?"),
        (PARK, "Not interested"),
        (RIVERA, "ok please stop texting me, wrong number for the newsletter"),
    ]:
        inbound_sms_handle(to_e164=SENDING, from_e164=sender, body=body)
    return rivera


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("CONSENT_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def assert_fits_the_screen(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} scrolls sideways ({width} px)"


def test_staff_decide_an_unclear_reply_and_the_history_shows_it(
    page, live_server, log_in, staff_member, replies
):
    log_in(staff_member.user)
    page.goto(f"{live_server.url}/broadcasts/replies/review/")
    expect(page.get_by_role("heading", name="Replies to review")).to_be_visible()
    expect(page.get_by_text("Waiting (3)")).to_be_visible()
    assert_fits_the_screen(page)
    shot(page, "revocation-reviews-1280")
    card = page.locator(".review", has_text="quit gymnastics")
    card.get_by_role("button", name="Not a revocation").click()
    expect(page.get_by_text("Waiting (2)")).to_be_visible()
    card = page.locator(".review", has_text="Tuesday")
    card.get_by_role("button", name="Opt out: it is a revocation").click()
    expect(page.get_by_text("is opted out of texts")).to_be_visible()
    assert RevocationReview.objects.filter(verdict="pending").count() == 1
    page.goto(f"{live_server.url}/families/{replies.pk}/")
    page.locator("details.history summary").first.click()
    history = page.locator("details.history").first
    expect(history.get_by_text("Reply in words")).to_be_visible()
    expect(
        history.get_by_text("“ok please stop texting me, wrong number for the newsletter”")
    ).to_be_visible()
    expect(history.get_by_text("Revocation confirmation")).to_be_visible()
    expect(history.get_by_text("Version 1").first).to_be_visible()
    assert_fits_the_screen(page)
    shot(page, "consent-history-1280")


def test_the_review_list_and_the_history_fit_a_phone(
    mobile_page, live_server, log_in, staff_member, replies
):
    page = log_in(staff_member.user)
    page.goto(f"{live_server.url}/broadcasts/replies/review/")
    expect(page.get_by_text("Waiting (3)")).to_be_visible()
    assert_fits_the_screen(page)
    shot(page, "revocation-reviews-375")
    page.goto(f"{live_server.url}/families/{replies.pk}/")
    page.locator("details.history summary").first.click()
    expect(page.locator("details.history").first.get_by_text("Reply in words")).to_be_visible()
    assert_fits_the_screen(page)
    shot(page, "consent-history-375")
