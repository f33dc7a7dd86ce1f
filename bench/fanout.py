"""SMS fan-out throughput: one broadcast to 10,000 recipients through the Twilio stand-in at
100 ms per request, with a real Celery worker (and beat) on Redis and PostgreSQL.

Prints messages/s end to end (from just before broadcast_create until every recipient is
recorded in a final status, audit entries included), with the sending number's
messages_per_second beside it (a fast but real number: 1,000 msg/s, not unlimited); the same
against a sequential loop over the twilio gateway (200 messages); and against the stand-in's own
ceiling, measured in the same run on the same stand-in by a minimal aiohttp client with 500
requests in flight. Also what the stand-in saw: messages accepted and numbers texted twice.
Goal (issue 9): >= 1,500 msg/s and >= 50% of the ceiling. Prints, never asserts.

The stand-in runs in a process of its own; the database and the broker's Redis database are
emptied first (see bench/harness). Run by `make bench`, or alone:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smsvoice_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/fanout.py

Knobs (environment): BENCH_RECIPIENTS (10000), BENCH_SENDER_MPS (the sending number's
messages_per_second, 1000), BENCH_WORKER_PROCESSES (--concurrency of the worker, 4),
BENCH_LATENCY (seconds per stand-in request, 0.1), BENCH_TIMEOUT (seconds to wait for the
broadcast, 300). Engine settings (SMS_SEND_CONCURRENCY, SMS_BATCH_SIZE, …) pass through the
environment to the worker; unset, the product's defaults apply.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # bench/ is on the path first

RECIPIENTS = harness.env_int("BENCH_RECIPIENTS", 10_000)
MPS = harness.env_int("BENCH_SENDER_MPS", 1000)
WORKERS = harness.env_int("BENCH_WORKER_PROCESSES", 4)
LATENCY = harness.env_float("BENCH_LATENCY", 0.1)
TIMEOUT = harness.env_float("BENCH_TIMEOUT", 300)
SENDER = "+14155550199"


def fanout(base_url: str) -> dict:
    from tests.twilio_standin import duplicate_counts
    from tests.twilio_standin.process import StandinClient

    seeded = harness.seed_organization(
        "Bench Gym", RECIPIENTS, e164=SENDER, messages_per_second=MPS, first_number=0
    )
    standin = StandinClient(base_url)
    with harness.Celery("fanout", concurrency=WORKERS) as celery:
        harness.broadcast_to_all(seeded, "Benchmark: the gym is closed today")
        finished = harness.wait_until(
            lambda: harness.unfinished(seeded.broadcast) == 0, timeout=TIMEOUT
        )
        elapsed = time.monotonic() - seeded.created_at
        celery.report_errors()
    log = [m for m in standin.accepted() if m.from_ == SENDER]
    return {
        "finished": finished,
        "elapsed": elapsed,
        "created": seeded.create_seconds,
        "sent": harness.recorded_sent(seeded.broadcast),
        "statuses": dict(harness.statuses(seeded.broadcast)),
        "accepted": len(log),
        "accept_span": (log[-1].at - log[0].at) if len(log) > 1 else 0.0,
        "duplicates": len(duplicate_counts(log)),
    }


def sequential(count: int = 200) -> float:
    from broadcasts.providers import twilio as twilio_gateway

    twilio_gateway.reset_client()
    started = time.monotonic()
    for n in range(count):
        twilio_gateway.sms_send(to=harness.phone(900_000 + n), from_=SENDER, body="sequential")
    return count / (time.monotonic() - started)


def ceiling(base_url: str) -> float:
    import standin_ceiling

    return asyncio.run(standin_ceiling.drive(base_url, 500, None))["rate"]


def main() -> None:
    from tests.twilio_standin.process import standin_process

    harness.configure()
    with standin_process(
        latency=LATENCY,
        callbacks=False,
        keep_requests=False,
        account_sid=harness.SID,
        auth_token=harness.TOKEN,
    ) as base_url:
        harness.django_setup(base_url)
        harness.scratch()
        where = harness.machine()
        # The ceiling just before and just after the fan-out, on the same stand-in; the ratio
        # is taken to the higher of the two, so a busy moment cannot flatter it.
        before = ceiling(base_url)
        result = fanout(base_url)
        seq = sequential()
        after = ceiling(base_url)
    top = max(before, after)
    rate = result["sent"] / result["elapsed"]
    print(
        f"SMS fan-out, {LATENCY * 1000:.0f} ms per provider request, {where}, "
        f"worker --concurrency={WORKERS} (+ beat), sending number at {MPS:,} msg/s"
    )
    print(f"  created the broadcast and its {RECIPIENTS:,} recipients in {result['created']:.2f} s")
    if not result["finished"]:
        print(f"  NOT FINISHED after {TIMEOUT:.0f} s: {result['statuses']}")
    print(
        f"  fan-out (real worker, Redis, PostgreSQL): {result['sent']:,} recorded sent in "
        f"{result['elapsed']:.1f} s = {rate:,.0f} msg/s (sender at {MPS:,} msg/s)"
    )
    print(
        f"  stand-in accepted {result['accepted']:,} from the sender, first to last in "
        f"{result['accept_span']:.1f} s; numbers texted more than once: {result['duplicates']}"
    )
    print(
        f"  sequential twilio SDK loop (200 messages): {seq:,.1f} msg/s -> fan-out is "
        f"{rate / seq:,.0f}x (sender at {MPS:,} msg/s)"
    )
    print(
        f"  stand-in ceiling (aiohttp client, 500 in flight, same stand-in, before/after): "
        f"{before:,.0f}/{after:,.0f} req/s -> fan-out reaches {rate / top:.0%} of the higher "
        f"(sender at {MPS:,} msg/s)"
    )
    print(f"fanout: {rate:,.0f} msg/s at {MPS:,} msg/s sender, {rate / top:.0%} of the ceiling")


if __name__ == "__main__":
    os.chdir(harness.ROOT)
    main()
