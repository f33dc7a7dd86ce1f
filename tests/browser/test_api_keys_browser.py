"""Settings > API keys in a browser: make a key (shown once), see it listed, revoke it; the
page fits a phone. Screenshots go to docs/."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from smsvoice.models import APIKey

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _shoot(page: Page, name: str) -> None:
    page.screenshot(path=str(DOCS / f"{name}-{page.viewport_size['width']}.png"), full_page=True)


def _fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def _make_and_revoke(page: Page, live_server) -> None:
    page.goto(f"{live_server.url}/settings/")
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    page.get_by_label("Name").fill("Nightly sync from iClassPro")
    page.get_by_label("Send: Send text broadcasts (spends credits).").check()
    page.get_by_role("button", name="Make key").click()
    shown = page.get_by_test_id("new-key")
    expect(shown).to_contain_text("shown only this once")
    full = shown.locator("code").inner_text()
    assert full.startswith("smsv_")
    key = APIKey.objects.get()
    expect(page.locator(f"#key-{key.pk}")).to_contain_text("read, write, send")
    _fits(page)
    _shoot(page, "api-keys-new")

    page.goto(f"{live_server.url}/settings/api-keys/")
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    assert full not in page.content()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#key-{key.pk}").get_by_role("button", name="Revoke").click()
    expect(page.locator(f"#key-{key.pk}")).to_contain_text("Revoked")
    _fits(page)
    _shoot(page, "api-keys-revoked")
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_an_admin_makes_and_revokes_a_key(page, live_server, log_in, admin_member):
    log_in(admin_member.user)
    _make_and_revoke(page, live_server)


def test_the_page_fits_a_phone(mobile_page, live_server, log_in, admin_member):
    log_in(admin_member.user)
    _make_and_revoke(mobile_page, live_server)
