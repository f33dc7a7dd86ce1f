"""Sending a text from the Families list in a real browser: select, compose, watch the counts,
confirm, and see the broadcast's progress."""

import pytest
from playwright.sync_api import expect

from broadcasts.models import OutboxMessage
from tests.broadcasts.sms_helpers import family_with_number, sender_ready

pytestmark = pytest.mark.browser


@pytest.fixture
def outbox_in_process(settings):
    from smsvoice.celery import app

    settings.SMS_BACKEND = "outbox"
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_staff_select_families_compose_and_see_them_sent(
    page, live_server, log_in, org, staff_member, outbox_in_process
):
    sender_ready(org, credits=20)
    for name in ("Adams", "Baker", "Chen"):
        family_with_number(org, name=name)
    family_with_number(org, name="Dunn", opted_in=False)

    log_in(staff_member.user)
    page.get_by_role("checkbox", name="Select all on this page").check()
    bar = page.get_by_role("region", name="Selected families")
    expect(bar).to_contain_text("4 families selected")
    bar.get_by_role("button", name="SMS").click()

    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("New text message to families")
    dialog.get_by_label("Message").fill("Gym closed today " + "x" * 150)
    expect(dialog.get_by_test_id("parts")).to_have_text("2 parts, 2 credits per recipient")
    expect(dialog.get_by_test_id("message-count")).to_have_text("3")
    expect(dialog).to_contain_text("1 not opted in to texts")
    expect(dialog.get_by_test_id("credits-needed")).to_have_text("6")
    expect(dialog.get_by_test_id("credits-available")).to_have_text("20")

    dialog.get_by_label("Message").fill("Gym closed today")
    expect(dialog.get_by_test_id("chars-left")).to_have_text("144 of 160 characters left")
    expect(dialog.get_by_test_id("credits-needed")).to_have_text("3")
    dialog.get_by_role("button", name="Send…").click()
    expect(dialog).to_contain_text("Send 3 messages now?")
    assert OutboxMessage.objects.count() == 0, "nothing goes out before the confirmation"
    dialog.get_by_role("button", name="Yes, send now").click()

    expect(page.get_by_role("heading", name="SMS broadcast")).to_be_visible()
    expect(page.get_by_test_id("count-sent")).to_have_text("3")
    expect(page.get_by_test_id("broadcast-status")).to_have_text("Done")
    assert sorted(OutboxMessage.objects.values_list("body", flat=True)) == ["Gym closed today"] * 3


def test_a_short_balance_is_shown_in_red_and_send_stays_disabled(
    page, live_server, log_in, org, staff_member, outbox_in_process
):
    sender_ready(org, credits=1)
    for name in ("Adams", "Baker"):
        family_with_number(org, name=name)
    log_in(staff_member.user)
    page.get_by_role("checkbox", name="Select all on this page").check()
    page.get_by_role("region", name="Selected families").get_by_role("button", name="SMS").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Message").fill("Hello")
    expect(dialog.get_by_test_id("short-warning")).to_be_visible()
    expect(dialog.get_by_role("button", name="Send…")).to_be_disabled()
