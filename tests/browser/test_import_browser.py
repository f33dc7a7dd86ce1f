"""Families > Import in a real browser, at 1280 and at 375 px: upload a messy file, match its
columns (the consent basis asked for because a column opts numbers in), preview, import with
the task in-process (as in the embedded demo), watch it finish and download the report.

Set IMPORT_SCREENSHOTS=docs to save the screenshots the README shows.
"""

import csv
import io
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from families.models import ConsentEvent, Family
from tests.families.importing.helpers import FILES, template

pytestmark = pytest.mark.browser
VIEWPORTS = ["page", "mobile_page"]


@pytest.fixture
def tasks_in_process():
    from smsvoice.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("IMPORT_SCREENSHOTS")
    if folder:
        width = page.viewport_size["width"]
        page.screenshot(path=str(Path(folder) / f"{name}-{width}.png"), full_page=True)


def assert_fits_the_screen(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} scrolls sideways ({width} px)"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_upload_match_preview_import_report(
    request, viewport, live_server, log_in, admin_member, org, tasks_in_process
):
    page: Page = request.getfixturevalue(viewport)
    template(org)
    log_in(admin_member.user, on=page)
    page.goto(f"{live_server.url}/families/")
    page.get_by_role("link", name="Import families").click()
    expect(page.get_by_role("heading", name="Import families")).to_be_visible()
    page.get_by_label("CSV file").set_input_files(str(FILES / "students_excel_utf16.csv"))
    shot(page, "import-upload")
    page.get_by_role("button", name="Upload and match columns").click()

    expect(page.get_by_role("heading", name="Match columns")).to_be_visible()
    expect(page.get_by_text("read as UTF-16 with tabs")).to_be_visible()
    expect(page.get_by_label("Mother Cell SMS Opt-in", exact=True)).to_have_value(
        re.compile(r"^opt_in:\d+$")
    )
    assert_fits_the_screen(page)
    page.get_by_role("button", name="Preview the import").click()
    # The opt-in column needs a stated, confirmed basis.
    expect(page.get_by_text("say how these parents gave consent")).to_be_visible()
    page.get_by_label("How did these parents consent to text messages?").fill(
        "Parents ticked 'I agree to texts' on our enrollment form, dated Aug 2025"
    )
    page.get_by_label("I confirm these parents gave this consent").check()
    shot(page, "import-mapping")
    page.get_by_role("button", name="Preview the import").click()

    expect(page.get_by_role("heading", name="Preview")).to_be_visible()
    expect(page.get_by_test_id("count-created")).to_have_text("2")
    expect(page.get_by_test_id("opt-ins")).to_contain_text("1 number will be opted in")
    assert_fits_the_screen(page)
    shot(page, "import-preview")
    assert not Family.objects.for_org(org).exists()
    page.get_by_role("button", name="Import 2 families").click()

    expect(page.get_by_test_id("import-status")).to_contain_text("The import is finished.")
    expect(page.get_by_test_id("count-created")).to_have_text("2")
    assert_fits_the_screen(page)
    shot(page, "import-done")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the report (CSV)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[1] for r in rows[1:]] == ["created"] * 6
    assert Family.objects.for_org(org).count() == 2
    assert ConsentEvent.objects.for_org(org).get().source == "import"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_preview_with_errors_and_warnings(
    request, viewport, live_server, log_in, admin_member, org, tasks_in_process
):
    page: Page = request.getfixturevalue(viewport)
    template(org)
    log_in(admin_member.user, on=page)
    page.goto(f"{live_server.url}/families/import/")
    page.get_by_label("CSV file").set_input_files(str(FILES / "semicolons_cp1252.csv"))
    page.get_by_role("button", name="Upload and match columns").click()
    expect(page.get_by_label("Dates like 05/06/2016 are")).to_have_value("dmy")
    page.get_by_role("button", name="Preview the import").click()
    errors = page.locator("#errors")
    expect(errors).to_contain_text("row 4, Mother Cell: (555) 0100 is not a valid US number.")
    expect(page.locator("#warnings")).to_contain_text("row 3: repeats row 2 exactly.")
    assert_fits_the_screen(page)
    shot(page, "import-preview-errors")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_checking_page_polls_until_the_preview_is_ready(
    request, viewport, live_server, log_in, admin_member, org
):
    """With a broker the check is a worker's task: the page shows the rows checked and turns
    into the preview by itself once the task is done (run here by the test)."""
    from families.importing import apply
    from families.importing.models import DirectoryImport

    page: Page = request.getfixturevalue(viewport)
    template(org)
    log_in(admin_member.user, on=page)
    page.goto(f"{live_server.url}/families/import/")
    page.get_by_label("CSV file").set_input_files(str(FILES / "families_utf8_bom.csv"))
    page.get_by_role("button", name="Upload and match columns").click()
    page.get_by_role("button", name="Preview the import").click()
    expect(page.get_by_test_id("checking-status")).to_contain_text("0 of 4 rows checked")
    assert_fits_the_screen(page)
    shot(page, "import-checking")
    imported = DirectoryImport.objects.for_org(org).get()
    assert apply.import_check(directory_import_id=imported.pk) == "previewed"
    expect(page.get_by_test_id("count-created")).to_have_text("4")
    expect(page.get_by_role("button", name="Import 4 families")).to_be_visible()
