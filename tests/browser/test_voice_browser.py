"""The voice dialog in a real browser: from the bottom bar's Voice icon to "Calling…", with
the Twilio stand-in taking the call, and the call's progress appearing as it happens."""

import pytest
from playwright.sync_api import expect

from broadcasts.models import VoiceRecordingCall
from broadcasts.providers.twilio import reset_client
from tests.broadcasts.sms_helpers import give_credits
from tests.factories import (
    FamilyFactory,
    PhoneFieldFactory,
    PhoneNumberFactory,
    SendingNumberFactory,
)
from tests.twilio_standin import TwilioStandin, point_settings_at

pytestmark = pytest.mark.browser
SID, TOKEN = "AC" + "8" * 32, "voice-browser-token"


@pytest.fixture
def phone(settings, live_server):
    # No callbacks: only the call itself matters here, and nothing should call anyone back.
    with TwilioStandin(account_sid=SID, auth_token=TOKEN, callbacks=False) as standin:
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = SID, TOKEN
        point_settings_at(settings, standin.base_url)
        settings.SMS_BACKEND = "twilio"
        settings.SITE_URL = live_server.url
        reset_client()
        yield standin
        reset_client()


def test_the_voice_dialog_calls_the_staff_member_and_shows_the_call_live(
    page, live_server, log_in, org, staff_member, phone
):
    give_credits(org, 50)
    SendingNumberFactory(organization=org, e164="+14155550100")
    field = PhoneFieldFactory(organization=org, label="Mother cell")
    for name, number in (("Adams", "+12025550111"), ("Baker", "+12025550122")):
        family = FamilyFactory(organization=org, name=name)
        PhoneNumberFactory(family=family, field=field, e164=number)

    log_in(staff_member.user)
    page.get_by_role("checkbox", name="Select Adams").check()
    page.get_by_role("checkbox", name="Select Baker").check()
    bar = page.get_by_role("region", name="Selected families")
    expect(bar).to_contain_text("2 families selected")
    bar.get_by_role("button", name="Voice").click()

    dialog = page.get_by_role("dialog", name="Send a voice broadcast")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("voice-numbers")).to_have_text("2")
    expect(dialog).to_contain_text("2 credits per minute of message")
    expect(dialog).to_contain_text("Credits available: 50")

    dialog.get_by_label("Your phone number").fill("(202) 555-0199")
    dialog.get_by_role("button", name="Call me").click()
    # Nobody is called before the confirmation with the count and the cost.
    expect(dialog.get_by_test_id("voice-confirm")).to_contain_text(
        "Call 2 numbers once you have recorded? About 2 credits a minute"
    )
    assert not phone.calls
    dialog.get_by_role("button", name="Yes, call me").click()
    status = dialog.get_by_test_id("voice-call-status")
    expect(status).to_have_text("Calling (202) 555-0199…")
    assert [call.to for call in phone.calls.values()] == ["+12025550199"]

    # Twilio says the staff member answered: the dialog follows without a reload.
    call = VoiceRecordingCall.objects.get()
    VoiceRecordingCall.objects.filter(pk=call.pk).update(status="waiting_for_hello")
    expect(status).to_have_text("Waiting for hello")
    VoiceRecordingCall.objects.filter(pk=call.pk).update(status="recorded", recording_seconds=42)
    expect(status).to_have_text("Recorded 0:42")
