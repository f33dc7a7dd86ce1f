"""Browser tests: Playwright's sync API driving Debian's chromium against pytest-django's
live server.

How to write one::

    pytestmark = pytest.mark.browser

    def test_something(page, live_server, log_in, staff_member):
        log_in(staff_member.user)                     # through the real login form
        page.goto(live_server.url + "/families/")
        expect(page.get_by_role("button", name="Filter")).to_be_visible()

- ``live_server`` makes the test transactional: rows made in the test body are committed, so the
  server thread sees them. The usual fixtures (``org``, ``staff_member``…) work as in other tests.
- Use Playwright's ``expect(...)`` for anything that appears after a request: it waits for the
  page instead of sleeping. Never assert on timings.
- ``page`` is a fresh browser context per test (own cookies), 1280×900 unless the test asks for
  ``mobile_page`` (375×740, a small phone). An uncaught JavaScript error on the page fails the test.
- On failure a screenshot and the page's HTML are saved in ``test-artifacts/`` (gitignored).
- Chromium is Debian's (/usr/bin/chromium); Playwright's own browser download is never used. If it
  is missing the tests are skipped with a hint, or fail when the ``CI`` variable is set.
- Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls from a
  thread with a running loop unless DJANGO_ALLOW_ASYNC_UNSAFE is set, which the ``browser``
  fixture does while a browser runs. The browser (and its loop) lives for one test module, so
  the loop is gone before the rest of the suite runs code that starts its own (asyncio.run).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.factories import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Long enough for a slow CI machine; expect() returns as soon as the page is ready.
TIMEOUT_MS = 15_000
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the test item, so fixtures can tell whether the test failed.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: run `apt-get install chromium` (or .ci/run)."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    expect.set_options(timeout=TIMEOUT_MS)
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def _open_page(browser: Browser, request: pytest.FixtureRequest, viewport: dict) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        _save_artifacts(page, request.node.nodeid)
    context.close()
    if errors:
        pytest.fail("JavaScript errors on the page:\n" + "\n".join(errors))


def _save_artifacts(page: Page, nodeid: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid)[-150:]
    try:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        (ARTIFACTS / f"{name}.html").write_text(page.content())
    except Exception as exc:  # a closed page must not hide the test's own failure
        print(f"could not save browser artifacts: {exc}")


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from _open_page(browser, request, DESKTOP)


@pytest.fixture
def mobile_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from _open_page(browser, request, PHONE)


@pytest.fixture
def log_in(live_server, request: pytest.FixtureRequest) -> Callable:
    """``log_in(user)`` logs in through the login form on the test's page (``page`` or
    ``mobile_page``) and waits until the app has opened its first page."""

    def _log_in(user, password: str = PASSWORD, *, on: Page | None = None) -> Page:
        target = on or request.getfixturevalue(
            "mobile_page" if "mobile_page" in request.fixturenames else "page"
        )
        target.goto(f"{live_server.url}/accounts/login/")
        target.get_by_label("Email").fill(user.get_username())
        target.get_by_label("Password").fill(password)
        target.get_by_role("button", name="Log in").click()
        expect(target).not_to_have_url(re.compile(r"/accounts/login/"))
        return target

    return _log_in
