"""The broadcast pages in a real browser, at 1280 and at 375 px: the progress page following a
broadcast live and going quiet once it is done, the voice dialog's confirmation and its
warning when the credits cannot pay for the call, and compose drafts surviving a reload.

Set BROADCAST_SCREENSHOTS=docs to save the screenshots the README shows.
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from broadcasts.models import Broadcast, Recipient
from broadcasts.voice import outbox_calls
from tests.broadcasts.sms_helpers import family_with_number, sender_ready
from tests.factories import SendingNumberFactory

pytestmark = pytest.mark.browser
VIEWPORTS = ["page", "mobile_page"]


@pytest.fixture
def outbox_in_process(settings):
    from smsvoice.celery import app

    settings.SMS_BACKEND = "outbox"
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def width_of(page: Page) -> int:
    return page.viewport_size["width"]


def shot(page: Page, name: str) -> None:
    """Save the top of the page (at most 1,500 px: the progress, not 80 recipient rows)."""
    folder = os.environ.get("BROADCAST_SCREENSHOTS")
    if folder:
        height = min(page.evaluate("document.documentElement.scrollHeight"), 1500)
        clip = {"x": 0, "y": 0, "width": width_of(page), "height": height}
        path = Path(folder) / f"{name}-{width_of(page)}.png"
        page.screenshot(path=str(path), full_page=True, clip=clip)


def assert_fits_the_screen(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= width_of(page), f"{page.url} scrolls sideways ({width} px)"


def open_dialog(page: Page, icon: str, count: int):
    page.get_by_role("checkbox", name="Select all on this page").check()
    bar = page.get_by_role("region", name="Selected families")
    expect(bar).to_contain_text(re.compile(rf"{count} famil(y|ies) selected"))
    bar.get_by_role("button", name=icon).click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    return dialog


def queued_broadcast(org, staff_member, count: int) -> Broadcast:
    """A broadcast whose fan-out has not started: the test plays the worker on its rows."""
    broadcast = Broadcast.objects.create(
        organization=org,
        selection_kind="families",
        text="Gym closed today because of snow.",
        encoding="GSM-7",
        max_parts=1,
        sender=staff_member,
        sender_label=staff_member.full_name,
        from_e164="+14155550100",
        recipient_count=count,
        credits_debited=count,
    )
    Recipient.objects.bulk_create(
        Recipient(
            broadcast=broadcast,
            organization=org,
            e164=f"+1202555{1000 + i:04d}",
            owner_label=f"Family {i}",
            text=broadcast.text,
            parts=1,
            credits=1,
        )
        for i in range(count)
    )
    return broadcast


def move(broadcast: Broadcast, count: int, status: str) -> None:
    ids = broadcast.recipients.filter(status="pending").values_list("id", flat=True)[:count]
    Recipient.objects.filter(id__in=list(ids)).update(status=status)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_progress_page_follows_the_broadcast_and_stops_asking_once_done(
    request, viewport, live_server, log_in, org, staff_member
):
    page = request.getfixturevalue(viewport)
    broadcast = queued_broadcast(org, staff_member, 80)
    log_in(staff_member.user, on=page)
    page.goto(f"{live_server.url}/broadcasts/{broadcast.pk}/")
    banner = page.get_by_test_id("progress-banner")
    expect(banner).to_contain_text("Queued: 80 messages will go out shortly.")
    expect(page.get_by_test_id("broadcast-status")).to_have_text("Queued")

    Broadcast.objects.filter(pk=broadcast.pk).update(status=Broadcast.Status.SENDING)
    move(broadcast, 40, "delivered")
    move(broadcast, 16, "sent")
    move(broadcast, 4, "failed")
    expect(banner).to_contain_text("Sending 80 messages: 60 of 80 done so far.")
    expect(page.get_by_test_id("count-delivered")).to_have_text("40")
    expect(page.get_by_test_id("count-pending")).to_have_text("20")
    bar = page.get_by_test_id("progress-bar")
    box = bar.bounding_box()
    delivered = bar.locator("[data-segment=delivered]").bounding_box()
    assert abs(delivered["width"] - box["width"] / 2) <= 2  # 40 of 80
    assert_fits_the_screen(page)
    shot(page, "broadcast-sending")

    move(broadcast, 20, "sent")
    Broadcast.objects.filter(pk=broadcast.pk).update(status=Broadcast.Status.DONE)
    expect(banner).to_contain_text("Done: 76 of 80 messages went out; 4 failed and were refunded.")
    expect(page.get_by_test_id("broadcast-status")).to_have_text("Done")
    expect(page.get_by_role("button", name="Cancel the rest")).to_have_count(0)
    expect(page.locator("#progress")).to_have_attribute("data-live", "false")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/progress/" in r.url else None)
    page.wait_for_timeout(2500)  # longer than the 2 s poll: nothing more is asked
    assert asked == []
    assert_fits_the_screen(page)
    shot(page, "broadcast-done")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_voice_asks_before_dialing_and_the_demo_calls_end_by_themselves(
    request, viewport, live_server, log_in, org, staff_member, outbox_in_process, monkeypatch
):
    monkeypatch.setattr(outbox_calls, "OUTBOX_ANSWER_SECONDS", 1)
    page = request.getfixturevalue(viewport)
    sender_ready(org, credits=300)
    for name in ("Adams", "Baker"):
        family_with_number(org, name=name, opted_in=False)
    log_in(staff_member.user, on=page)
    dialog = open_dialog(page, "Voice", 2)
    dialog.get_by_label("Your phone number").fill("(202) 555-0199")
    dialog.get_by_role("button", name="Call me").click()
    confirm = dialog.get_by_test_id("voice-confirm")
    expect(confirm).to_contain_text(
        "Call 2 numbers once you have recorded? About 2 credits a minute"
    )
    assert_fits_the_screen(page)
    shot(page, "voice-confirm-record")
    confirm.get_by_role("button", name="Keep editing").click()
    expect(dialog.get_by_test_id("voice-confirm")).to_have_count(0)

    dialog.get_by_text("Or type a message to be read out").click()
    dialog.get_by_role("textbox", name="Message").fill(
        "Classes are cancelled today because of snow."
    )
    expect(dialog.get_by_test_id("voice-credits-needed")).to_have_text("2 credits")
    dialog.get_by_role("button", name="Send…").click()
    expect(confirm).to_contain_text("Call 2 numbers? About 2 credits")
    shot(page, "voice-confirm-send")
    confirm.get_by_role("button", name="Yes, call them now").click()

    banner = page.get_by_test_id("progress-banner")
    expect(banner).to_contain_text(re.compile(r"Calling 2 numbers|Done: 2 of 2 numbers answered"))
    expect(banner).to_contain_text("Done: 2 of 2 numbers answered.")  # nobody pressed a thing
    expect(page.get_by_test_id("count-answered")).to_have_text("2")
    assert_fits_the_screen(page)
    shot(page, "voice-done")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_at_zero_credits_the_voice_dialog_warns_before_call_me(
    request, viewport, live_server, log_in, org, staff_member, outbox_in_process
):
    page = request.getfixturevalue(viewport)
    SendingNumberFactory(organization=org, e164="+14155550100")
    family_with_number(org, name="Adams")
    log_in(staff_member.user, on=page)
    dialog = open_dialog(page, "Voice", 1)
    warning = dialog.get_by_test_id("voice-call-short")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Not enough credits to call you")
    expect(warning).to_contain_text("Ask an admin to buy credits.")
    expect(dialog.get_by_role("button", name="Call me", exact=True)).to_be_disabled()
    assert_fits_the_screen(page)
    shot(page, "voice-no-credits")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_compose_draft_survives_a_reload_until_discarded(
    request, viewport, live_server, log_in, org, staff_member, outbox_in_process
):
    page = request.getfixturevalue(viewport)
    sender_ready(org, credits=20)
    for name in ("Adams", "Baker"):
        family_with_number(org, name=name)
    log_in(staff_member.user, on=page)
    dialog = open_dialog(page, "SMS", 2)
    dialog.get_by_role("textbox", name="Message").fill("Snow day: no practice tonight")
    expect(dialog.get_by_test_id("draft-note")).to_be_visible()

    page.reload()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_have_count(0)
    page.get_by_role("region", name="Selected families").get_by_role("button", name="SMS").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.get_by_role("textbox", name="Message")).to_have_value(
        "Snow day: no practice tonight"
    )
    expect(dialog.get_by_test_id("credits-needed")).to_have_text("2")
    assert_fits_the_screen(page)
    shot(page, "compose-draft")

    dialog.get_by_role("button", name="Discard draft").click()
    expect(dialog.get_by_role("textbox", name="Message")).to_have_value("")
    page.reload()
    page.get_by_role("region", name="Selected families").get_by_role("button", name="SMS").click()
    expect(page.locator("dialog[open]").get_by_role("textbox", name="Message")).to_have_value("")
