"""The Families list in a real browser: filter, select, and the bottom bar that follows."""

import re

import pytest
from django.http import QueryDict
from playwright.sync_api import expect

from families.selection import kind_filterset
from tests.factories import FamilyFactory, ProgramFactory, StudentFactory

pytestmark = pytest.mark.browser


def _families_in(org, program, count):
    families = FamilyFactory.create_batch(count, organization=org)
    for family in families:
        StudentFactory(family=family, program=program)
    return families


def test_staff_select_all_families_of_a_program_and_the_count_survives_paging(
    page, live_server, log_in, org, staff_member
):
    swim = ProgramFactory(organization=org, name="Swim")
    _families_in(org, swim, 63)
    _families_in(org, ProgramFactory(organization=org, name="Gymnastics"), 9)
    swimmers = kind_filterset(
        organization=org, kind="families", data=QueryDict(f"program={swim.pk}")
    ).qs.count()
    assert swimmers > 50, "the selection must span more than one page"

    log_in(staff_member.user)
    expect(page.get_by_role("heading", name="Families")).to_be_visible()
    page.get_by_label("Program", exact=True).select_option(label="Swim")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text(f"{swimmers} families match these filters.")).to_be_visible()

    page.get_by_role("button", name=f"Select all {swimmers} matching").click()

    bar = page.get_by_role("region", name="Selected families")
    expect(bar).to_be_visible()
    expect(bar).to_contain_text(f"{swimmers} families selected")
    expect(bar.get_by_role("button", name="SMS")).to_be_visible()
    expect(bar.get_by_role("button", name="Voice")).to_be_visible()

    page.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"[?&]page=2"))
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    expect(bar).to_contain_text(f"{swimmers} families selected")
    rows = page.locator("input[data-select-row]")
    expect(rows).to_have_count(swimmers - 50)
    for index in range(rows.count()):
        expect(rows.nth(index)).to_be_checked()


def test_ticking_rows_updates_the_bar_and_the_sms_icon_shows_the_count(
    page, live_server, log_in, org, staff_member
):
    FamilyFactory(organization=org, name="Adams")
    FamilyFactory(organization=org, name="Baker")
    FamilyFactory(organization=org, name="Chen")
    log_in(staff_member.user)
    bar = page.get_by_role("region", name="Selected families", include_hidden=True)
    expect(bar).to_be_hidden()

    page.get_by_role("checkbox", name="Select Adams").check()
    page.get_by_role("checkbox", name="Select Chen").check()
    expect(bar).to_contain_text("2 families selected")
    page.get_by_role("checkbox", name="Select Adams").uncheck()
    expect(bar).to_contain_text("1 family selected")

    # The server kept it: a reload shows the same tick.
    page.reload()
    expect(page.get_by_role("checkbox", name="Select Chen")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Select Adams")).not_to_be_checked()

    bar.get_by_role("button", name="SMS").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("New text message to families")
    expect(dialog.get_by_test_id("message-count")).to_have_text("0")  # Chen has no number
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    bar.get_by_role("button", name="Clear").click()
    expect(bar).to_be_hidden()
    expect(page.get_by_role("checkbox", name="Select Chen")).not_to_be_checked()


def test_the_page_checkbox_selects_the_whole_page(page, live_server, log_in, org, staff_member):
    FamilyFactory.create_batch(55, organization=org)
    log_in(staff_member.user)
    page.get_by_role("checkbox", name="Select all on this page").check()
    bar = page.get_by_role("region", name="Selected families")
    expect(bar).to_contain_text("50 families selected")
    page.get_by_role("link", name="Next").click()
    expect(page.get_by_role("checkbox", name="Select all on this page")).not_to_be_checked()
    expect(bar).to_contain_text("50 families selected")


def test_the_list_fits_a_small_phone(mobile_page, live_server, log_in, org, staff_member):
    swim = ProgramFactory(organization=org, name="Swim")
    _families_in(org, swim, 3)
    page = log_in(staff_member.user)
    page.get_by_role("checkbox", name=re.compile(r"^Select Family")).first.check()
    bar = page.get_by_role("region", name="Selected families")
    expect(bar).to_contain_text("1 family selected")
    expect(bar.get_by_role("button", name="SMS")).to_be_in_viewport()
    page_width = page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= 375, f"the page scrolls sideways ({page_width}px wide)"


def test_unticking_a_row_after_select_all_updates_the_summary_and_the_bar(
    page, live_server, log_in, org, staff_member
):
    FamilyFactory.create_batch(55, organization=org)
    log_in(staff_member.user)
    page.get_by_role("button", name="Select all 55 matching").click()
    summary = page.locator("#selection-summary")
    bar = page.get_by_role("region", name="Selected families")
    expect(summary).to_have_text("All 55 matching families are selected.")
    expect(bar).to_contain_text("55 families selected")

    page.locator("input[data-select-row]").first.uncheck()
    expect(bar).to_contain_text("54 families selected")
    expect(summary).to_contain_text("All 55 matching families are selected except 1.")

    # The offer to take it back in is there again, and works.
    summary.get_by_role("button", name="Select all 55 matching").click()
    expect(summary).to_have_text("All 55 matching families are selected.")
    expect(bar).to_contain_text("55 families selected")
    expect(page.locator("input[data-select-row]").first).to_be_checked()
