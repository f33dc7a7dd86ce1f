"""The fan-out with a real Celery worker on Redis, the Twilio stand-in and signed status
callbacks to a live server: ordering, retries and crashes are where in-process tasks lie."""

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from broadcasts.engine.sweep import broadcasts_sweep
from broadcasts.models import AuditLogEntry, Broadcast, Recipient
from broadcasts.sms.compose import broadcast_create
from tests.broadcasts.sms_helpers import balance, families_selection, family_with_number
from tests.broadcasts.sms_helpers import sender_ready as ready
from tests.factories import StaffMemberFactory
from tests.twilio_standin import TwilioStandin, twilio_bases

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
SID, TOKEN = "AC" + "1" * 32, "worker-test-token"


@pytest.fixture
def standin():
    with TwilioStandin(account_sid=SID, auth_token=TOKEN, latency=0.02) as server:
        yield server


@pytest.fixture
def wired(standin, live_server, settings, celery_worker_process):
    """The worker and this process both talk to the stand-in; callbacks reach the live server."""
    from broadcasts.providers import twilio as twilio_gateway

    config = {
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "SMS_BACKEND": "twilio",
        **twilio_bases(standin.base_url),
        "SITE_URL": live_server.url,
    }
    for name, value in config.items():
        setattr(settings, name, value)
    twilio_gateway.reset_client()
    celery_worker_process.env.update(config, SMS_MAX_ATTEMPTS="4")
    yield celery_worker_process
    twilio_gateway.reset_client()


def wait_until(predicate, *, timeout=60.0, what="condition", show=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}" + (f": {show()}" if show else ""))


def _engine_keys():
    from broadcasts.engine import pace

    redis = pace.backend().redis
    found = {k: (redis.get(k), redis.pttl(k)) for k in redis.scan_iter(match="engine:*")}
    found.update({k: redis.type(k) for k in redis.scan_iter(match="*") if b"engine" not in k})
    return found


def statuses(broadcast):
    return Counter(broadcast.recipients.values_list("status", flat=True))


def test_a_real_worker_sends_everyone_once_and_callbacks_mark_them_delivered(org, wired, standin):
    wired.start()
    ready(org, credits=500)
    families = [family_with_number(org) for _ in range(45)]
    sender = StaffMemberFactory(organization=org)
    broadcast = broadcast_create(
        organization=org, sender=sender, selection=families_selection(*families), text="Hi"
    )
    wait_until(lambda: statuses(broadcast) == {"delivered": 45}, what="all delivered")
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DONE
    sent_to = Counter(m.to for m in standin.messages.values())
    assert len(sent_to) == 45 and set(sent_to.values()) == {1}
    assert AuditLogEntry.objects.filter(broadcast=broadcast).count() == 45
    assert balance(org) == 500 - 45


def test_undelivered_callbacks_refund_through_the_worker_path(org, wired, standin):
    wired.start()
    ready(org, credits=100)
    good, bad = family_with_number(org), family_with_number(org)
    standin.deliver_as(bad.phone_numbers.get().e164, final_status="undelivered")
    standin.fail_next(status=429, count=3, retry_after=0)
    broadcast = broadcast_create(
        organization=org,
        sender=StaffMemberFactory(organization=org),
        selection=families_selection(good, bad),
        text="Hi",
    )
    wait_until(
        lambda: statuses(broadcast) == {"delivered": 1, "undelivered": 1},
        what="final statuses", show=lambda: statuses(broadcast),
    )
    assert balance(org) == 99


def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(org, wired, standin):
    standin.latency = 0.4
    wired.start(concurrency=1)
    number = ready(org, credits=500)
    number.messages_per_second = 10  # slow enough to be killed half way
    number.save()
    families = [family_with_number(org) for _ in range(60)]
    broadcast = broadcast_create(
        organization=org,
        sender=StaffMemberFactory(organization=org),
        selection=families_selection(*families),
        text="Crash test",
    )
    wait_until(lambda: len(standin.messages) >= 12, what="some messages out")
    wired.kill()
    assert Recipient.objects.filter(broadcast=broadcast, status__in=["pending", "sending"]).exists()

    # Later: the crashed worker's leases have expired; a new worker, and the sweep finds what
    # the crash left behind.
    expired = timezone.now() - timedelta(minutes=1)
    Recipient.objects.filter(broadcast=broadcast, status="sending").update(lease_expires_at=expired)
    standin.latency = 0.01
    wired.start()
    counts = broadcasts_sweep()
    assert sum(v for k, v in counts.items() if k.startswith("reconciled_")) + counts["woken"] > 0
    # The killed worker's last wake-up of the sender died with it: beat's next sweep (here
    # every 2 s, by hand) finds it overdue and books another.
    def done_with_sweeps():
        if set(statuses(broadcast)) <= {"sent", "delivered"}:
            return True
        broadcasts_sweep()
        time.sleep(1.8)
        return False

    wait_until(
        done_with_sweeps,
        what="all sent",
        show=lambda: f"{statuses(broadcast)} {counts} {_engine_keys()}\n{wired.log()[-1500:]}",
    )
    sent_to = Counter(m.to for m in standin.messages.values())
    assert len(sent_to) == 60
    assert max(sent_to.values()) == 1, "a number was texted twice"
    assert AuditLogEntry.objects.filter(broadcast=broadcast).count() == 60
