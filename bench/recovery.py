"""Recovery: kill -9 the worker mid-broadcast, start a new one, and see how the broadcast ends.

A broadcast to 50,000 families from a fast number (1,000 msg/s) goes out through a real worker
(--concurrency=4) and beat. Once the stand-in has accepted half of it, the worker's whole process
group and beat are killed with SIGKILL (a crashed host); a new worker and a new beat (which runs
the engine's sweep) are started at once. Prints:
- the seconds from the new worker's start until every recipient is in a final status (or
  "> N s" after BENCH_RECOVERY_TIMEOUT);
- duplicates: numbers the stand-in accepted the same text for more than once (and how many
  extra texts that made);
- missing: recipients the stand-in never accepted a text for; and the recipients' statuses,
  including any recorded as sent that the stand-in never accepted, or the reverse;
- whether the ledger balanced (`manage.py credits_audit`).
Goal (issue 9): complete, each number once, within 2 minutes of the new worker's start.
Also the preview and create times of the 50,000-recipient broadcast (goal: 0.5 s and 3 s).
Prints, never asserts.

Starts from an empty database and broker Redis database, with the stand-in (100 ms per request)
in a process of its own that outlives both workers.

Knobs (environment): BENCH_RECOVERY_RECIPIENTS (50000), BENCH_RECOVERY_MPS (the number's
messages_per_second, 1000), BENCH_RECOVERY_KILL_AT (fraction accepted before the kill, 0.5),
BENCH_RECOVERY_TIMEOUT (seconds to wait after the restart, 180), BENCH_WORKER_PROCESSES (4),
BENCH_LATENCY (0.1 s).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # bench/ is on the path first

RECIPIENTS = harness.env_int("BENCH_RECOVERY_RECIPIENTS", 50_000)
MPS = harness.env_int("BENCH_RECOVERY_MPS", 1000)
KILL_AT = harness.env_float("BENCH_RECOVERY_KILL_AT", 0.5)
TIMEOUT = harness.env_float("BENCH_RECOVERY_TIMEOUT", 180.0)
WORKERS = harness.env_int("BENCH_WORKER_PROCESSES", 4)
LATENCY = harness.env_float("BENCH_LATENCY", 0.1)
SENDER = "+14155550199"
# How long the first worker may take to get half way before it is killed anyway.
KILL_WAIT = max(60.0, RECIPIENTS / MPS * 3)


def preview_seconds(seeded: harness.Seeded) -> float:
    from broadcasts.sms.compose import broadcast_preview
    from families.selection import Selection

    started = time.monotonic()
    broadcast_preview(
        organization=seeded.organization,
        selection=Selection(kind="families", filter_query=""),
        text="Recovery Gym: the pool is closed today",
    )
    return time.monotonic() - started


def run(base_url: str) -> None:
    from tests.twilio_standin import duplicate_counts
    from tests.twilio_standin.process import StandinClient

    started = time.monotonic()
    seeded = harness.seed_organization(
        "Recovery Gym", RECIPIENTS, e164=SENDER, messages_per_second=MPS, first_number=0
    )
    print(f"  seeded {RECIPIENTS:,} families in {time.monotonic() - started:.1f} s")
    print(f"  preview of the broadcast to all of them: {preview_seconds(seeded):.2f} s")
    watch = harness.AcceptedWatch(StandinClient(base_url))
    first = harness.Celery("recovery-1", concurrency=WORKERS).start()
    try:
        harness.broadcast_to_all(seeded, "Recovery Gym: the pool is closed today")
        print(f"  created it (recipients and debit): {seeded.create_seconds:.2f} s")
        target = int(RECIPIENTS * KILL_AT)
        reached = harness.wait_until(lambda: len(watch.poll()) >= target, timeout=KILL_WAIT)
    finally:
        first.kill()
    at_kill = len(watch.poll())
    recorded_at_kill = harness.recorded_sent(seeded.broadcast)
    when = "" if reached else f" (half way not reached in {KILL_WAIT:.0f} s)"
    print(
        f"  kill -9 of worker and beat {time.monotonic() - seeded.created_at:.1f} s after "
        f"create{when}: {at_kill:,} accepted by the stand-in, {recorded_at_kill:,} recorded sent"
    )
    second = harness.Celery("recovery-2", concurrency=WORKERS)
    with second:
        restarted = second.worker.started_at
        done = harness.wait_until(
            lambda: harness.unfinished(seeded.broadcast) == 0, timeout=TIMEOUT, interval=0.25
        )
        took = time.monotonic() - restarted if done else None
        time.sleep(2)  # anything still in flight lands before counting
        second.report_errors()
    first.report_errors()
    log = [m for m in watch.poll() if m.from_ == SENDER]
    duplicates = duplicate_counts(log)
    accepted_to = {m.to for m in log}
    numbers = set(seeded.numbers)
    missing = numbers - accepted_to
    counts = harness.statuses(seeded.broadcast)
    recorded = harness.recorded_sent(seeded.broadcast)
    balanced, audit = harness.ledger_balanced()
    print(
        f"  new worker started -> every recipient final: {harness.seconds(took, TIMEOUT)} "
        f"(sender at {MPS:,} msg/s)"
    )
    print(
        f"  duplicates: {len(duplicates):,} numbers texted more than once "
        f"({sum(n - 1 for n in duplicates.values()):,} extra texts)"
    )
    print(
        f"  missing: {len(missing):,} of {RECIPIENTS:,} recipients never accepted by the stand-in;"
        f" {recorded:,} recorded sent, stand-in accepted {len(accepted_to):,} distinct numbers"
    )
    said_sent = harness.numbers_recorded_sent(seeded.broadcast)
    print(
        f"  statuses: {dict(sorted(counts.items()))}; recorded sent but never accepted: "
        f"{len(said_sent - accepted_to):,}; accepted but not recorded sent: "
        f"{len((accepted_to & numbers) - said_sent):,}"
    )
    print(f"  ledger balanced: {'yes' if balanced else 'NO'} ({audit})")
    print(
        f"recovery: {harness.seconds(took, TIMEOUT)} to complete, {len(duplicates)} duplicates, "
        f"{len(missing)} missing, ledger {'balanced' if balanced else 'NOT balanced'}"
    )


def main() -> None:
    from tests.twilio_standin.process import standin_process

    harness.configure()
    print(
        f"Recovery after kill -9, {LATENCY * 1000:.0f} ms per provider request, "
        f"{harness.machine()}, worker --concurrency={WORKERS} + beat, {RECIPIENTS:,} "
        f"recipients, sending number at {MPS:,} msg/s"
    )
    with standin_process(
        latency=LATENCY,
        callbacks=False,
        keep_requests=False,
        account_sid=harness.SID,
        auth_token=harness.TOKEN,
    ) as base_url:
        harness.django_setup(base_url)
        harness.scratch()
        run(base_url)


if __name__ == "__main__":
    os.chdir(harness.ROOT)
    main()
