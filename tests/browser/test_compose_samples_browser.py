"""The SMS compose window's merged samples in a real browser, at 1280 and at 375 px: staff
type a message with merge fields and step through a few recipients' own texts (the mother's
cell greets Maria, the father's David, the household number the West family) before sending.

Set COMPOSE_SCREENSHOTS=docs to save the screenshots the README shows.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.broadcasts.sms_helpers import next_number, sender_ready
from tests.factories import FamilyFactory, GuardianFactory, PhoneFieldFactory, PhoneNumberFactory

pytestmark = pytest.mark.browser


def west_family(org) -> None:
    fields = [
        PhoneFieldFactory(organization=org, label=label, order=order)
        for order, label in enumerate(("Mother cell", "Father cell", "Home"))
    ]
    family = FamilyFactory(organization=org, name="West")
    owners = [
        GuardianFactory(family=family, first_name="Maria"),
        GuardianFactory(family=family, first_name="David"),
        None,
    ]
    for field, guardian in zip(fields, owners, strict=True):
        PhoneNumberFactory(
            family=family, field=field, guardian=guardian, e164=next_number(), sms_opt_in=True
        )


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("COMPOSE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}-{page.viewport_size['width']}.png"))


@pytest.mark.parametrize("viewport", ["page", "mobile_page"])
def test_staff_step_through_each_recipients_own_merged_text(
    request, viewport, live_server, log_in, org, staff_member
):
    page = request.getfixturevalue(viewport)
    sender_ready(org, credits=20)
    west_family(org)
    log_in(staff_member.user, on=page)
    page.get_by_role("checkbox", name="Select all on this page").check()
    page.get_by_role("region", name="Selected families").get_by_role("button", name="SMS").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Message").fill("Hi {first_name}, the gym is closed today.")

    samples = dialog.get_by_test_id("samples")
    position = samples.get_by_test_id("sample-position")
    shown = samples.locator("[data-testid=sample]:visible")
    expect(position).to_have_text("1 of 3")
    expect(shown).to_have_count(1)
    expect(shown.get_by_test_id("sample-text")).to_have_text("Hi Maria, the gym is closed today.")
    expect(shown).to_contain_text("West — Mother cell")
    shown.scroll_into_view_if_needed()
    shot(page, "compose-samples")

    seen = []
    for _ in range(3):
        seen.append(shown.get_by_test_id("sample-text").inner_text())
        samples.get_by_role("button", name="Next recipient").click()
    assert sorted(seen) == sorted(
        f"Hi {who}, the gym is closed today." for who in ("Maria", "David", "West family")
    )
    expect(position).to_have_text("1 of 3")  # round again
    samples.get_by_role("button", name="Previous recipient").click()
    expect(position).to_have_text("3 of 3")
    assert shown.get_by_test_id("sample-text").inner_text() == seen[2]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the dialog scrolls sideways ({width} px)"

    # Typing again recounts and starts the samples over.
    dialog.get_by_label("Message").fill("{first_name}: closed")
    expect(position).to_have_text("1 of 3")
    expect(shown.get_by_test_id("sample-text")).to_have_text("Maria: closed")
