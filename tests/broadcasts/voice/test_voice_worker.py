"""Voice dial-out with a real Celery worker on Redis: the stand-in places the calls and calls
back to a live server, whose answers (a retry after busy) go back through the broker."""

import time
from collections import Counter

import pytest

from broadcasts.models import AuditLogEntry, Broadcast, VoiceMessage
from broadcasts.voice import recording as voice
from tests.broadcasts.sms_helpers import (
    balance,
    families_selection,
    family_with_number,
    give_credits,
)
from tests.factories import SendingNumberFactory, StaffMemberFactory
from tests.twilio_standin import TwilioStandin, twilio_bases

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
SID, TOKEN = "AC" + "9" * 32, "voice-worker-token"


@pytest.fixture
def wired(live_server, settings, celery_worker_process):
    from broadcasts.providers import twilio as twilio_gateway

    with TwilioStandin(account_sid=SID, auth_token=TOKEN, latency=0.01) as standin:
        config = {
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "SMS_BACKEND": "twilio",
            **twilio_bases(standin.base_url),
            "SITE_URL": live_server.url,
        }
        for name, value in config.items():
            setattr(settings, name, value)
        settings.VOICE_RETRY_DELAY_SECONDS = 0  # this process schedules the retries
        twilio_gateway.reset_client()
        celery_worker_process.env.update(config, VOICE_MAX_RETRIES="2")
        celery_worker_process.start()
        yield standin
        twilio_gateway.reset_client()


def wait_until(predicate, *, timeout=60.0, what="condition", show=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}" + (f": {show()}" if show else ""))


def test_a_worker_dials_retries_busy_numbers_and_settles_every_call(org, wired):
    give_credits(org, 100)
    SendingNumberFactory(organization=org, e164="+14155550100", calls_per_second=20)
    sender = StaffMemberFactory(organization=org)
    person, mailbox, busy, broken = (family_with_number(org) for _ in range(4))
    number = {f: f.phone_numbers.get().e164 for f in (person, mailbox, busy, broken)}
    wired.call_as(number[mailbox], answered_by="machine_end_beep", duration=40)
    wired.call_as(number[busy], final_status="busy")
    wired.call_as(number[broken], final_status="failed")

    broadcast = Broadcast.objects.create(
        organization=org,
        channel=Broadcast.Channel.VOICE,
        status=Broadcast.Status.RECORDING,
        selection_kind="families",
        selection=families_selection(person, mailbox, busy, broken).to_dict(),
        sender=sender,
        sender_label=sender.full_name,
        from_e164="+14155550100",
    )
    VoiceMessage.objects.create(
        broadcast=broadcast, source="recording", recording_url="https://x/RE1", seconds=42
    )
    voice.voice_broadcast_send(broadcast_id=broadcast.pk)  # commits: the worker dispatches

    def settled():
        return Counter(broadcast.recipients.values_list("status", flat=True))

    expected = {"delivered": 2, "unanswered": 1, "failed": 1}
    wait_until(lambda: settled() == expected, what="every call settled", show=settled)
    wait_until(
        lambda: Broadcast.objects.get(pk=broadcast.pk).status == Broadcast.Status.DONE,
        what="the broadcast done",
    )
    dialed = Counter(call.to for call in wired.calls.values())
    assert dialed == {number[person]: 1, number[mailbox]: 1, number[busy]: 3, number[broken]: 1}
    assert AuditLogEntry.objects.filter(broadcast=broadcast).count() == 2
    assert balance(org) == 100 - 4 + 1  # the failed call refunded, the busy one charged
