"""Credits in a real browser on a small phone: add a test card, buy a custom quantity with its
price shown as it is typed, and every page fits 375 px."""

import re

import pytest
from playwright.sync_api import expect

from credits.selectors import credits_balance

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("stripe_backend")]


def fits_the_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{page.url} scrolls sideways ({width}px wide)"


def test_an_admin_adds_a_card_and_buys_credits_on_a_phone(
    mobile_page, live_server, log_in, org, admin_member
):
    page = log_in(admin_member.user)
    page.goto(f"{live_server.url}/credits/settings/")
    expect(page.get_by_role("heading", name="SMS & Voice")).to_be_visible()
    fits_the_phone(page)

    page.get_by_role("link", name="Add a card").click()
    expect(page.get_by_text("Test mode.")).to_be_visible()
    fits_the_phone(page)
    page.get_by_label("Test card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry month").fill("12")
    page.get_by_label("Expiry year").fill("2034")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Save test card").click()
    expect(page.get_by_text("Card on file: Visa ending 4242.")).to_be_visible()

    page.get_by_role("link", name="Buy credits").first.click()
    fits_the_phone(page)
    page.get_by_label(re.compile(r"^Credits \(100 to 100,000\)")).fill("1500")
    expect(page.get_by_text("1,500 credits: US$45.00")).to_be_visible()
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_test_id("confirm-total")).to_have_text("US$45.00")
    fits_the_phone(page)
    page.get_by_role("button", name="Pay US$45.00").click()

    expect(page.get_by_text("Paid. 1,500 credits were added.")).to_be_visible()
    expect(page.get_by_test_id("purchase-status")).to_have_text("Paid")
    fits_the_phone(page)
    page.get_by_role("link", name="Balance and ledger").click()
    expect(page.get_by_test_id("balance")).to_have_text("1,500")
    fits_the_phone(page)
    assert credits_balance(organization=org) == 1500


def test_the_auto_recharge_and_purchases_pages_fit_a_phone(
    mobile_page, live_server, log_in, admin_member
):
    page = log_in(admin_member.user)
    for path in ("/credits/settings/auto-recharge/", "/credits/purchases/", "/credits/"):
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("h1")).to_be_visible()
        fits_the_phone(page)
