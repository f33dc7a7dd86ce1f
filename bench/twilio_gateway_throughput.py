"""How fast the Twilio gateway itself can send: threads + the sync client, or one event loop.

The stand-in runs in a process of its own at 100 ms per request (no callbacks); this process
sends through broadcasts.twilio_gateway exactly as a worker would — sms_send from a pool of
threads sharing the cached client, or sms_send_async inside async_session() — for a few
seconds each and prints messages/s, median latency and the CPU this process used (one core =
100%). No database. Asserts nothing: the figures choose the worker's concurrency model.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.twilio_standin import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from tests.twilio_standin.process import standin_process

LATENCY = 0.1
DURATION = float(os.environ.get("BENCH_SECONDS", "5"))
SENDER = "+14155550100"


def setup_django(base_url: str, max_connections: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsvoice.settings")
    os.environ.update(
        TWILIO_ACCOUNT_SID=DEFAULT_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=DEFAULT_AUTH_TOKEN,
        TWILIO_API_BASE=base_url,
        TWILIO_MAX_CONNECTIONS=str(max_connections),
        SMS_BACKEND="twilio",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()


def report(label: str, sent: int, wall: float, cpu: float, latencies: list[float]) -> None:
    median_ms = statistics.median(latencies) * 1000
    print(
        f"  {label:24s}: {sent / wall:6.0f} messages/s  p50 {median_ms:4.0f} ms  "
        f"CPU {cpu / wall:4.0%} of a core, {cpu / sent * 1000:.2f} ms a message  "
        f"({sent} sent in {wall:.1f} s)",
        flush=True,
    )


def threaded(threads: int) -> None:
    from broadcasts.providers import twilio as gateway

    latencies: list[float] = []
    stop_at = time.monotonic() + DURATION

    def loop(number: int) -> int:
        sent = 0
        while (started := time.monotonic()) < stop_at:
            gateway.sms_send(to=f"+1202555{number:04d}", from_=SENDER, body=f"bench {sent}")
            latencies.append(time.monotonic() - started)
            sent += 1
        return sent

    gateway.twilio_client()  # built before the clock starts, as in a warm worker
    cpu, start = time.process_time(), time.monotonic()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        sent = sum(pool.map(loop, range(threads)))
    wall = time.monotonic() - start
    report(f"sync, {threads} threads", sent, wall, time.process_time() - cpu, latencies)


def evented(concurrency: int) -> None:
    from broadcasts.providers import twilio as gateway

    latencies: list[float] = []

    async def loop(number: int, stop_at: float) -> int:
        sent = 0
        while (started := time.monotonic()) < stop_at:
            await gateway.sms_send_async(
                to=f"+1202555{number:04d}", from_=SENDER, body=f"bench {sent}"
            )
            latencies.append(time.monotonic() - started)
            sent += 1
        return sent

    async def run() -> int:
        async with gateway.async_session():
            stop_at = time.monotonic() + DURATION
            counts = await asyncio.gather(*(loop(n, stop_at) for n in range(concurrency)))
        return sum(counts)

    cpu, start = time.process_time(), time.monotonic()
    sent = asyncio.run(run())
    wall = time.monotonic() - start
    report(f"async, {concurrency} in flight", sent, wall, time.process_time() - cpu, latencies)


def main() -> None:
    with standin_process(latency=LATENCY, callbacks=False) as base_url:
        setup_django(base_url, max_connections=500)
        print(
            f"Twilio gateway -> stand-in at {LATENCY * 1000:.0f} ms per request, "
            f"{DURATION:g} s per run, {os.cpu_count()} CPUs"
        )
        for threads in (50, 100, 200):
            threaded(threads)
        for concurrency in (200, 500):
            evented(concurrency)


if __name__ == "__main__":
    main()
