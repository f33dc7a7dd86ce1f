"""Pacing: does a sender keep to its messages_per_second in every sliding second?

A 10 msg/s sending number texts 300 families, then a 1 msg/s number texts 20, through a real
worker (--concurrency=4) and beat and the stand-in (100 ms per request, in a process of its own).
For each it prints the most messages the stand-in accepted in any sliding 1-second window, from
its accept times (time.monotonic() in the stand-in) for that From number, beside the rate; also
the same window over the requests' arrival times, the mean rate from first to last accept, and
how long the broadcast took. Goal (issue 9): <= the sender's rate (10, and 1). A wait gives up
after three times the broadcast's ideal duration plus 30 s. Prints, never asserts.

Starts from an empty database and broker Redis database.

Knobs (environment): BENCH_PACING_FAST (recipients of the 10 msg/s sender, 300),
BENCH_PACING_SLOW (recipients of the 1 msg/s sender, 20), BENCH_PACING_RATES ("10,1": the
senders' messages_per_second, in order), BENCH_WORKER_PROCESSES (4), BENCH_LATENCY (0.1 s).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # bench/ is on the path first

FAST = harness.env_int("BENCH_PACING_FAST", 300)
SLOW = harness.env_int("BENCH_PACING_SLOW", 20)
RATES = [int(r) for r in os.environ.get("BENCH_PACING_RATES", "10,1").split(",")]
WORKERS = harness.env_int("BENCH_WORKER_PROCESSES", 4)
LATENCY = harness.env_float("BENCH_LATENCY", 0.1)


def pace(rate: int, recipients: int, index: int, watch: harness.AcceptedWatch) -> int:
    """Send one broadcast at `rate` msg/s and print how it was paced; returns the window max."""
    from tests.twilio_standin import max_in_window

    e164 = f"+1415555013{index}"
    seeded = harness.seed_organization(
        f"Pacing Gym {index}",
        recipients,
        e164=e164,
        messages_per_second=rate,
        first_number=index * 100_000,
    )
    bound = recipients / rate * 3 + 30
    harness.broadcast_to_all(seeded, f"Pacing Gym {index}: see you on Saturday")
    done = harness.wait_until(lambda: harness.unfinished(seeded.broadcast) == 0, timeout=bound)
    took = time.monotonic() - seeded.created_at if done else None
    log = [m for m in watch.poll() if m.from_ == e164]
    accepted = [m.at for m in log]
    most = max_in_window(accepted, 1.0)
    arrived = max_in_window([m.received for m in log], 1.0)
    span = max(accepted) - min(accepted) if len(accepted) > 1 else 0.0
    mean = (len(accepted) - 1) / span if span else 0.0
    print(
        f"  sender at {rate} msg/s, {recipients} recipients: most accepted in any sliding 1 s: "
        f"{most} (by arrival: {arrived}); {len(log)} accepted, mean {mean:.1f} msg/s first to "
        f"last; broadcast complete after {harness.seconds(took, bound)}"
    )
    return most


def main() -> None:
    from tests.twilio_standin.process import StandinClient, standin_process

    harness.configure()
    print(
        f"Pacing, {LATENCY * 1000:.0f} ms per provider request, {harness.machine()}, "
        f"worker --concurrency={WORKERS} (+ beat)"
    )
    sizes = [FAST, SLOW] + [SLOW] * max(0, len(RATES) - 2)
    results = []
    with standin_process(
        latency=LATENCY,
        callbacks=False,
        keep_requests=False,
        account_sid=harness.SID,
        auth_token=harness.TOKEN,
    ) as base_url:
        harness.django_setup(base_url)
        harness.scratch()
        watch = harness.AcceptedWatch(StandinClient(base_url))
        with harness.Celery("pacing", concurrency=WORKERS, graceful=False) as celery:
            for index, (rate, size) in enumerate(zip(RATES, sizes, strict=False)):
                results.append((rate, pace(rate, size, index, watch)))
            celery.report_errors()
    summary = ", ".join(f"{most} in 1 s at {rate} msg/s" for rate, most in results)
    print(f"pacing: {summary}")


if __name__ == "__main__":
    os.chdir(harness.ROOT)
    main()
