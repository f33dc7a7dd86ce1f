"""The sending engine (issue 9) with real worker processes: Celery workers (and beat, where the
test is about recovery) on Redis and PostgreSQL, the Twilio stand-in counting every message it
accepts. Each test asserts a property (order, once-only, rate, a balanced ledger) with
generous bounds, never an exact number of seconds: the machine is small and shared.

Where the sweep comes from, per test: it runs in production from celery beat every
ENGINE_SWEEP_SECONDS, and here too (``celery -A smsvoice beat`` as a subprocess with its own
schedule file) in the tests about recovery; the fairness, two-worker and voice tests run
without beat, so what they show is the engine's own wake-ups at work.
"""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest
import redis
from django.core.management import call_command

from broadcasts.models import AuditLogEntry, Broadcast, Recipient, VoiceMessage
from broadcasts.sms.compose import broadcast_create
from broadcasts.voice import recording as voice
from families.models import ConsentEvent, Family, PhoneField, PhoneNumber
from families.selection import Selection
from smsvoice.models import Organization
from tests.broadcasts.readiness_helpers import texting_approved
from tests.broadcasts.sms_helpers import balance, families_selection, give_credits
from tests.conftest import CeleryWorker
from tests.factories import OrganizationFactory, SendingNumberFactory, StaffMemberFactory
from tests.twilio_standin import max_in_window, twilio_bases
from tests.twilio_standin.process import StandinClient, standin_process

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
SID, TOKEN = "AC" + "6" * 32, "engine-worker-token"
A_NUMBER, B_NUMBER = "+14155550100", "+14155550101"
SENT = {Recipient.Status.SENT, Recipient.Status.DELIVERED}


# --- the processes -----------------------------------------------------------------------------


@pytest.fixture
def standin():
    """The stand-in in a process of its own, as Twilio is: the times it stamps on what it
    accepts are what these tests check the rate by, and in this process a pause of the test's
    own (a collection of its garbage, the polling, the live server) would stop its clock and
    count messages that came a rate apart as if they came together. Without status callbacks
    unless a test turns them on: thousands of signed callbacks to the live server would take
    the cores the worker needs."""
    with standin_process(account_sid=SID, auth_token=TOKEN, latency=0.02, callbacks=False) as url:
        yield StandinClient(url)


@pytest.fixture
def worker(standin, live_server, settings, celery_worker_process):
    """The worker (not started: a test adds its ENGINE_* knobs to ``worker.env`` first) and
    this process both talk to the stand-in; callbacks, when on, reach the live server."""
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
    celery_worker_process.env.update(config, LOG_LEVEL="INFO")
    yield celery_worker_process
    twilio_gateway.reset_client()


class Beat:
    """``celery -A smsvoice beat`` with the worker's environment and a schedule file of its
    own, in its own process group (so kill() is kill -9 of everything it started)."""

    def __init__(self, env: dict[str, str], directory: Path) -> None:
        self.env, self.directory = env, directory
        self.process: subprocess.Popen | None = None
        self.log_path = directory / "beat.log"

    def start(self) -> None:
        self.kill()
        schedule = self.directory / f"beat-schedule-{time.monotonic_ns()}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "smsvoice",
                "beat",
                "--loglevel=INFO",
                "-s",
                str(schedule),
            ],
            env=self.env,
            stdout=self.log_path.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


@pytest.fixture
def beat(worker, tmp_path):
    process = Beat(worker.env, tmp_path)
    yield process
    process.kill()


# --- data, in bulk -----------------------------------------------------------------------------


def number(n: int) -> str:
    """The n-th recipient number of these tests: distinct and well-formed."""
    return f"+1{200 + n // 1_000_000:03d}{5000000 + n % 1_000_000:07d}"


def seed(org: Organization, count: int, *, first: int) -> list[str]:
    """``count`` families, each with one opted-in text-capable number (in bulk: factories and
    consent_record one by one would take most of a test's time at thousands)."""
    field = PhoneField.objects.create(organization=org, label="Mother cell")
    families = Family.objects.bulk_create(
        [Family(organization=org, name=f"Family {first + i}") for i in range(count)]
    )
    numbers = [number(first + i) for i in range(count)]
    rows = PhoneNumber.objects.bulk_create(
        PhoneNumber(
            organization=org, family=f, field=field, e164=e, text_capable=True, sms_opt_in=True
        )
        for f, e in zip(families, numbers, strict=True)
    )
    ConsentEvent.objects.bulk_create(
        ConsentEvent(
            organization=org, phone_number=row, e164=row.e164, opted_in=True, source="import"
        )
        for row in rows
    )
    return numbers


def organization_sending(name: str, *, e164: str, mps: int, recipients: int, first: int):
    org = OrganizationFactory(name=name)
    give_credits(org, recipients * 2)
    number = SendingNumberFactory(organization=org, e164=e164, messages_per_second=mps)
    texting_approved(org, number)  # its carrier path is approved (broadcasts.readiness)
    return org, seed(org, recipients, first=first)


def send_to_all(org: Organization, text: str) -> Broadcast:
    return broadcast_create(
        organization=org,
        sender=StaffMemberFactory(organization=org),
        selection=Selection(kind="families", filter_query=""),
        text=text,
    )


# --- waiting and checking ------------------------------------------------------------------------


def wait_until(predicate, *, timeout: float, what: str, show=None, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what}" + (f": {show()}" if show else "")
    )


def statuses(broadcast: Broadcast) -> Counter:
    return Counter(Recipient.objects.filter(broadcast=broadcast).values_list("status", flat=True))


def all_sent(broadcast: Broadcast) -> bool:
    counts = statuses(broadcast)
    return bool(counts) and set(counts) <= SENT


def accepted_to(standin: StandinClient, numbers) -> list:
    wanted = set(numbers)
    return [m for m in standin.accepted() if m.to in wanted]


def assert_each_number_texted_once(standin, broadcast: Broadcast, numbers: list[str]) -> None:
    """What the provider received and what the product recorded agree: every number once."""
    sent_to = Counter(m.to for m in accepted_to(standin, numbers))
    assert standin.duplicates() == 0, f"texted twice: {standin.duplicate_counts()}"
    assert set(sent_to) == set(numbers), f"{len(set(numbers) - set(sent_to))} never texted"
    assert set(sent_to.values()) == {1}
    assert all_sent(broadcast), statuses(broadcast)
    recorded = Recipient.objects.filter(broadcast=broadcast).values_list("provider_sid", flat=True)
    assert set(recorded) == {m.sid for m in accepted_to(standin, numbers)}
    assert AuditLogEntry.objects.filter(broadcast=broadcast).count() == len(numbers)


def assert_ledger_balanced(*orgs_spent: tuple[Organization, int, int]) -> None:
    """``manage.py credits_audit`` passes (it raises CommandError otherwise), and each
    organization paid exactly for what was sent: (org, credits before, messages sent)."""
    call_command("credits_audit", stdout=open(os.devnull, "w"))  # noqa: SIM115
    for org, before, sent in orgs_spent:
        assert balance(org) == before - sent


TASK_RESULT = re.compile(r"Task broadcasts\.tasks\.(\w+)\[[^\]]+\] succeeded in [\d.]+s: (.*)$")


def task_results(log: str, name: str) -> list[dict]:
    """The dicts the worker logged as ``name``'s results ("Task … succeeded in …s: {…}")."""
    found = []
    for line in log.splitlines():
        match = TASK_RESULT.search(line)
        if match and match.group(1) == name:
            found.append(ast.literal_eval(match.group(2)))
    return found


def engine_errors(log: str) -> list[str]:
    return [line for line in log.splitlines() if "ERROR" in line or "Traceback" in line]


# --- 1. fairness -------------------------------------------------------------------------------


def test_a_small_broadcast_of_another_organization_is_sent_while_a_large_one_sends(worker, standin):
    """Organization A texts 1,500 numbers from a 100 msg/s number (about 16 s of sending); a
    moment later B texts 10 from its own number: B's are all out long before A's end. (The
    old engine queued B behind A's whole broadcast: 194 s for B's 20.) No beat: this is the
    engine's own scheduling."""
    worker.start(concurrency=2)
    org_a, numbers_a = organization_sending(
        "A Gym", e164=A_NUMBER, mps=100, recipients=1500, first=0
    )
    org_b, numbers_b = organization_sending(
        "B Gym", e164=B_NUMBER, mps=100, recipients=10, first=100_000
    )
    big = send_to_all(org_a, "Big news from A")
    wait_until(lambda: standin.stats()["accepted"] >= 100, timeout=60, what="A under way")

    started = time.monotonic()
    small = send_to_all(org_b, "Small news from B")
    wait_until(
        lambda: len(accepted_to(standin, numbers_b)) == 10,
        timeout=60,
        what="B's 10 accepted",
        show=lambda: statuses(small),
    )
    b_done = max(m.at for m in accepted_to(standin, numbers_b))
    a_by_then = sum(1 for m in accepted_to(standin, numbers_a) if m.at <= b_done)

    wait_until(
        lambda: all_sent(big) and all_sent(small),
        timeout=120,
        what="both sent",
        show=lambda: (statuses(big), statuses(small)),
    )
    a_done = max(m.at for m in accepted_to(standin, numbers_a))
    assert b_done < a_done and a_by_then < 1500, "B waited for A's broadcast"
    assert b_done - started < 5.0, f"B took {b_done - started:.1f}s"
    # Rate-true while it is fair: A's number never went over its 100 a second.
    assert standin.max_in_window(seconds=1.0, from_=A_NUMBER) <= 100
    assert_each_number_texted_once(standin, big, numbers_a)
    assert_each_number_texted_once(standin, small, numbers_b)
    assert_ledger_balanced((org_a, 3000, 1500), (org_b, 20, 10))
    assert Broadcast.objects.get(pk=big.pk).status == Broadcast.Status.DONE
    assert Broadcast.objects.get(pk=small.pk).status == Broadcast.Status.DONE
    assert not engine_errors(worker.log())


# --- 2. a slow sender, a broadcast far longer than a lease --------------------------------------


def test_a_slow_sender_texts_each_number_once_though_its_broadcast_outlasts_the_lease(
    worker, beat, standin
):
    """45 numbers from a 1 msg/s number: about 47 s of sending, more than twice the lease
    (ENGINE_LEASE_SECONDS=20, its minimum, plus 5 s of grace), with the sweep running from
    beat every 2 s all along.

    The old engine claimed a whole batch, paced through it, and its sweep treated anything
    ``sending`` for 5 minutes as crashed and sent it again while the first worker was still
    sending (400 recipients at 1 msg/s: 426 texts). Here a worker claims only what its budget
    covers for the next moment, as a lease it renews while it sends, and the sweep touches
    only leases that expired: the lease, not a timeout, is what makes a slow broadcast safe,
    however long it lasts."""
    worker.env.update(ENGINE_LEASE_SECONDS="20", ENGINE_SWEEP_SECONDS="2")
    worker.start(concurrency=2)
    beat.start()
    org, numbers = organization_sending("Slow Gym", e164=A_NUMBER, mps=1, recipients=45, first=0)
    broadcast = send_to_all(org, "One a second")

    wait_until(
        lambda: all_sent(broadcast),
        timeout=150,
        every=0.5,
        what="all 45 sent",
        show=lambda: statuses(broadcast),
    )
    assert len(standin.accepted()) == 45 and standin.duplicates() == 0
    accepted = sorted(standin.accepted(), key=lambda m: m.at)
    first, second = min(pairwise(accepted), key=lambda pair: pair[1].at - pair[0].at)
    gap = second.at - first.at
    assert standin.max_in_window(seconds=1.0, from_=A_NUMBER) <= 1, (
        f"{first.to} and {second.to} accepted {gap:.3f}s apart"
    )
    assert_each_number_texted_once(standin, broadcast, numbers)
    assert_ledger_balanced((org, 90, 45))
    log = worker.log()
    sweeps = task_results(log, "broadcasts_sweep")
    assert len(sweeps) >= 10, "the sweep should have run all through the broadcast"
    reconciled = sum(v for s in sweeps for k, v in s.items() if k.startswith("reconciled_"))
    assert reconciled == 0, "the sweep took over a live lease"
    assert sum(r.get("sent", 0) for r in task_results(log, "sender_run")) == 45
    assert not engine_errors(log)


# --- 3. back-pressure --------------------------------------------------------------------------


def test_a_429_storm_slows_the_sender_down_and_fails_no_one(worker, beat, standin):
    """30% of Twilio's answers are 429 and 10% are 503 for the whole broadcast (lookups and
    the sweep's lists included): every recipient ends sent (or delivered, through the signed
    callbacks to the live server) exactly once, none failed, and no refusal used up an
    attempt: a 429 is Twilio saying "slow down", not a failure of the message. (The old
    engine failed 64 of 2,000 after 4 attempts.) Beat runs the sweep every 2 s."""
    standin.configure(callbacks=True)
    standin.fail_randomly({429: 0.3, 503: 0.1}, seed=9)
    worker.env.update(ENGINE_LEASE_SECONDS="20", ENGINE_SWEEP_SECONDS="2", SMS_MAX_ATTEMPTS="4")
    worker.start(concurrency=2)
    beat.start()
    org, numbers = organization_sending(
        "Storm Gym", e164=A_NUMBER, mps=100, recipients=300, first=0
    )
    broadcast = send_to_all(org, "Through the storm")

    wait_until(
        lambda: all_sent(broadcast),
        timeout=150,
        every=0.5,
        what="all 300 sent",
        show=lambda: statuses(broadcast),
    )
    standin.fail_randomly({})
    creates = [
        r for r in standin.requests() if r.method == "POST" and r.path.endswith("/Messages.json")
    ]
    assert len(creates) - len(standin.accepted()) > 60, "the storm should have refused many"
    rows = Recipient.objects.filter(broadcast=broadcast)
    assert not rows.filter(status=Recipient.Status.FAILED).exists()
    assert list(rows.filter(attempts__gt=0).values_list("e164", "attempts", "error_code")) == []
    # Rows whose last refusal was a 429 (their error is kept for the page): sent, no attempt.
    refused = rows.filter(error_code="20429")
    assert refused.count() > 10 and set(refused.values_list("attempts", flat=True)) == {0}
    assert_each_number_texted_once(standin, broadcast, numbers)
    assert_ledger_balanced((org, 600, 300))
    assert not engine_errors(worker.log())


# --- 4. kill -9 ----------------------------------------------------------------------------------


def test_a_worker_killed_mid_broadcast_loses_nothing_and_sends_nothing_twice(worker, beat, standin):
    """kill -9 of the worker (and beat) while 2,500 texts go out from a 500 msg/s number; a new
    worker and beat start (the new worker's start purges the queue, so the slices booked
    before the crash are gone too and only the sweep knows what is left). Within 90 s all
    are sent: the dead worker's leases expire and the sweep reconciles them in bulk against
    Twilio's list (a message Twilio has is recorded, not sent again), the rest is sent."""
    standin.configure(latency=0.05)  # more requests in flight when the worker dies
    worker.env.update(ENGINE_LEASE_SECONDS="20", ENGINE_SWEEP_SECONDS="2")
    worker.start(concurrency=2)
    beat.start()
    org, numbers = organization_sending(
        "Crash Gym", e164=A_NUMBER, mps=500, recipients=2500, first=0
    )
    broadcast = send_to_all(org, "Crash test")
    wait_until(
        lambda: standin.stats()["accepted"] >= 600, timeout=60, what="the broadcast under way"
    )
    worker.kill()
    beat.kill()
    time.sleep(1)  # requests in flight at the kill may still be accepted by the stand-in
    at_kill = statuses(broadcast)
    accepted_at_kill = len(standin.accepted())
    assert at_kill["pending"] + at_kill["sending"] > 0, f"not mid-broadcast: {at_kill}"

    restarted = time.monotonic()
    worker.start(concurrency=2)
    beat.start()
    wait_until(
        lambda: all_sent(broadcast),
        timeout=90,
        every=0.5,
        what="all 2,500 sent",
        show=lambda: statuses(broadcast),
    )
    recovery = time.monotonic() - restarted
    assert_each_number_texted_once(standin, broadcast, numbers)
    assert_ledger_balanced((org, 5000, 2500))
    sweeps = task_results(worker.log(), "broadcasts_sweep")
    reconciled = sum(v for s in sweeps for k, v in s.items() if k.startswith("reconciled_"))
    # Every lease the dead worker held was reconciled by the sweep, and only those.
    assert reconciled == at_kill["sending"], (at_kill, sweeps)
    assert not engine_errors(worker.log())
    print(
        f"kill -9 at {at_kill} ({accepted_at_kill} accepted): complete {recovery:.1f}s "
        "after the new worker started"
    )


# --- 5. Redis loses everything -------------------------------------------------------------------


def redis_restarted(url: str) -> int:
    """What a restart of this machine's Redis (which keeps nothing on disk) does to the users of
    one of its databases: the keys are gone and every connection to it drops. Only this
    database (CELERY_BROKER_URL's) and its connections: other engineers' tests use other
    databases of the same server, which are never flushed nor cut off. Returns the number of
    connections dropped."""
    broker = redis.Redis.from_url(url)
    db = broker.connection_pool.connection_kwargs.get("db")
    assert db, f"{url} must name a database of its own, not 0"
    mine = broker.client_id()
    broker.flushdb()
    dropped = 0
    for client in broker.client_list():
        if int(client["db"]) == db and int(client["id"]) != mine:
            dropped += broker.client_kill_filter(_id=client["id"])
    broker.flushdb()  # whatever a client wrote in between, as it would be on a fresh server
    return dropped


def test_redis_losing_everything_mid_broadcast_loses_no_message(worker, beat, standin, settings):
    """Redis restarts (empty) while 1,000 texts go out at 100 msg/s: queued tasks, the slices
    the worker held for later (they go with its broker connection), wake-up bookings, budgets
    and locks are all gone. PostgreSQL still knows what is pending; the sweep (beat, every 2 s)
    finds it and the broadcast completes, each number once."""
    worker.env.update(ENGINE_LEASE_SECONDS="20", ENGINE_SWEEP_SECONDS="2")
    worker.start(concurrency=2)
    beat.start()
    org, numbers = organization_sending(
        "Flush Gym", e164=A_NUMBER, mps=100, recipients=1000, first=0
    )
    broadcast = send_to_all(org, "Redis restart")
    wait_until(
        lambda: standin.stats()["accepted"] >= 250, timeout=60, what="the broadcast under way"
    )
    assert redis_restarted(settings.CELERY_BROKER_URL) >= 2, "the worker and beat were cut off"
    assert statuses(broadcast)["pending"] > 0, "Redis restarted after the broadcast ended"

    wait_until(
        lambda: all_sent(broadcast),
        timeout=90,
        every=0.5,
        what="all 1,000 sent",
        show=lambda: statuses(broadcast),
    )
    assert_each_number_texted_once(standin, broadcast, numbers)
    assert_ledger_balanced((org, 2000, 1000))
    assert Broadcast.objects.get(pk=broadcast.pk).status == Broadcast.Status.DONE
    # A dropped connection is retried, not a failed slice ("Connection … lost" is a warning).
    assert not engine_errors(worker.log())


# --- 6. two workers, as on two hosts -------------------------------------------------------------


@pytest.fixture
def second_worker(worker, settings):
    """Another worker process started on its own, as on a second host: same PostgreSQL, same
    Redis, same environment."""
    other = CeleryWorker(settings)
    yield other
    other.stop()


def test_two_workers_started_separately_share_one_broadcast_without_duplicates(
    worker, second_worker, standin
):
    """Both workers run slices of the one broadcast (their logs say what each sent), every
    number is texted once, and what they logged as sent adds up to the broadcast. No beat:
    the wake-ups alone spread the work."""
    worker.start(concurrency=1)
    second_worker.env = dict(worker.env)
    second_worker.start(concurrency=1)  # before the broadcast: start() purges the queue
    org, numbers = organization_sending(
        "Shared Gym", e164=A_NUMBER, mps=200, recipients=1000, first=0
    )
    broadcast = send_to_all(org, "Two hosts")

    wait_until(
        lambda: all_sent(broadcast),
        timeout=90,
        every=0.5,
        what="all 1,000 sent",
        show=lambda: statuses(broadcast),
    )
    assert_each_number_texted_once(standin, broadcast, numbers)
    assert_ledger_balanced((org, 2000, 1000))
    sent_by = [
        sum(r.get("sent", 0) for r in task_results(w.log(), "sender_run"))
        for w in (worker, second_worker)
    ]
    assert all(sent_by), f"one worker sent nothing: {sent_by}"
    assert sum(sent_by) == 1000, sent_by
    assert not engine_errors(worker.log()) and not engine_errors(second_worker.log())


# --- 7. voice on the engine ----------------------------------------------------------------------


def test_a_slow_voice_broadcast_retries_busy_numbers_later_while_texts_go_out(
    worker, standin, settings
):
    """A voice broadcast from a 1 call/s number to 6 numbers, 2 of them busy every time: each
    busy number is dialed again VOICE_RETRY_DELAY_SECONDS later as scheduled work of the engine
    (pending, due later; no worker sleeps on it), twice, then left unanswered. Meanwhile
    another organization's 10 texts go out at once, while the calls are still being dialed.
    No beat: the retries come from the engine's own wake-ups. The status callbacks reach the
    live server in this process, which schedules the retries: its settings are set too."""
    standin.configure(callbacks=True)
    settings.VOICE_RETRY_DELAY_SECONDS, settings.VOICE_MAX_RETRIES = 2, 2
    worker.env.update(VOICE_RETRY_DELAY_SECONDS="2", VOICE_MAX_RETRIES="2")
    worker.start(concurrency=2)
    caller = OrganizationFactory(name="Voice Gym")
    give_credits(caller, 50)
    SendingNumberFactory(organization=caller, e164=A_NUMBER, calls_per_second=1)
    called = seed(caller, 6, first=0)
    busy = called[:2]
    for e164 in busy:
        standin.call_as(e164, final_status="busy")
    staff = StaffMemberFactory(organization=caller)
    calls = Broadcast.objects.create(
        organization=caller,
        channel=Broadcast.Channel.VOICE,
        status=Broadcast.Status.RECORDING,
        selection_kind="families",
        selection=families_selection(*Family.objects.filter(organization=caller)).to_dict(),
        sender=staff,
        sender_label=staff.full_name,
        from_e164=A_NUMBER,
    )
    VoiceMessage.objects.create(
        broadcast=calls, source="recording", recording_url="https://x/RE1", seconds=42
    )
    voice.voice_broadcast_send(broadcast_id=calls.pk)
    wait_until(lambda: standin.stats()["calls"] >= 2, timeout=60, what="the calls under way")

    texter, texted = organization_sending(
        "Text Gym", e164=B_NUMBER, mps=100, recipients=10, first=100_000
    )
    started = time.monotonic()
    texts = send_to_all(texter, "Meanwhile, a text")
    wait_until(
        lambda: len(accepted_to(standin, texted)) == 10,
        timeout=60,
        what="the 10 texts accepted",
        show=lambda: statuses(texts),
    )
    texts_done = max(m.at for m in accepted_to(standin, texted))
    dialed_by_then = standin.stats()["calls"]
    voice_status_then = Broadcast.objects.get(pk=calls.pk).status

    def settled() -> Counter:
        return statuses(calls)

    wait_until(
        lambda: settled() == {"delivered": 4, "unanswered": 2},
        timeout=120,
        every=0.5,
        what="every call settled",
        show=settled,
    )
    wait_until(
        lambda: Broadcast.objects.get(pk=calls.pk).status == Broadcast.Status.DONE,
        timeout=30,
        what="the voice broadcast done",
    )
    assert texts_done - started < 5.0, f"the texts took {texts_done - started:.1f}s"
    assert voice_status_then == Broadcast.Status.SENDING and dialed_by_then < 10
    assert_each_number_texted_once(standin, texts, texted)

    placed = sorted(standin.calls(), key=lambda c: c.created_at)
    assert Counter(c.to for c in placed) == {n: 3 if n in busy else 1 for n in called}
    assert max_in_window([c.created_at for c in placed], 1.0) <= 1, "over 1 call a second"
    for e164 in busy:
        times = [c.created_at for c in placed if c.to == e164]
        gaps = [later - earlier for earlier, later in pairwise(times)]
        assert min(gaps) >= 2.0, f"{e164} dialed again after {min(gaps):.2f}s"
    assert AuditLogEntry.objects.filter(broadcast=calls).count() == 4
    # Busy numbers are charged as dialed; nothing failed, so nothing is refunded.
    assert_ledger_balanced((caller, 50, 6), (texter, 20, 10))
    assert not engine_errors(worker.log())
