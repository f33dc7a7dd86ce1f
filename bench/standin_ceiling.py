"""How many requests a second the Twilio stand-in sustains at 100 ms latency per request.

The SMS benchmark (10,000 recipients, goal >= 1,000 msg/s) sends through the stand-in, so the
stand-in must carry well over that with hundreds of slow requests in flight. It runs here in a
process of its own (as it would beside a real worker) and is driven by a minimal aiohttp client
keeping N requests in flight; status callbacks, when on, go to a sink in this process. No
database. Prints requests/s, latency percentiles and the stand-in's CPU use; asserts nothing.
"""

from __future__ import annotations

import asyncio
import base64
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from tests.twilio_standin import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, CallbackSink
from tests.twilio_standin.process import standin_process, standin_stats

LATENCY = 0.1
WARMUP = 1.0
DURATION = float(os.environ.get("BENCH_SECONDS", "5"))
PATH = f"/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Messages.json"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(base_url: str, concurrency: int, callback_url: str | None) -> dict[str, float]:
    credentials = base64.b64encode(f"{DEFAULT_ACCOUNT_SID}:{DEFAULT_AUTH_TOKEN}".encode())
    headers = {"Authorization": f"Basic {credentials.decode()}"}
    latencies: list[float] = []
    errors = 0
    start = time.monotonic()
    measure_from, stop_at = start + WARMUP, start + WARMUP + DURATION

    async def worker(session: aiohttp.ClientSession, number: int) -> None:
        nonlocal errors
        sent = 0
        while (now := time.monotonic()) < stop_at:
            form = {"To": f"+1202555{number:04d}", "From": "+14155550100", "Body": f"bench {sent}"}
            if callback_url:
                form["StatusCallback"] = callback_url
            async with session.post(base_url + PATH, data=form) as response:
                await response.read()
                ok = response.status == 201
            sent += 1
            if now >= measure_from:
                latencies.append(time.monotonic() - now)
                errors += not ok

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        await asyncio.gather(*(worker(session, n) for n in range(concurrency)))
    latencies.sort()
    return {
        "rate": len(latencies) / DURATION,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99)],
        "errors": errors,
    }


def run(concurrency: int, *, callbacks: bool = False, final_only: bool = False) -> None:
    standin = standin_process(latency=LATENCY, callbacks=callbacks, final_callbacks_only=final_only)
    with standin as base_url, CallbackSink(record=False) as sink:
        pid = standin_stats(base_url)["pid"]
        cpu_before = cpu_seconds(pid)
        callback_url = f"{sink.base_url}/status" if callbacks else None
        result = asyncio.run(drive(base_url, concurrency, callback_url))
        cpu = (cpu_seconds(pid) - cpu_before) / (WARMUP + DURATION)
        stats = standin_stats(base_url)
    label = "no callbacks"
    if callbacks:
        label = "final callback only" if final_only else "sent + final callbacks"
    print(
        f"  {concurrency:4d} in flight, {label:22s}: {result['rate']:6.0f} requests/s  "
        f"p50 {result['p50'] * 1000:4.0f} ms  p99 {result['p99'] * 1000:4.0f} ms  "
        f"errors {result['errors']}  stand-in CPU {cpu:4.0%}  "
        f"max in flight {stats['max_in_flight']}  callbacks posted {stats['callbacks_sent']}",
        flush=True,
    )


def main() -> None:
    print(
        f"Twilio stand-in, {LATENCY * 1000:.0f} ms per request, {DURATION:g} s per run, "
        f"{os.cpu_count()} CPUs (stand-in in its own process, aiohttp client here)"
    )
    for concurrency in (200, 500, 1000):
        run(concurrency)
    run(500, callbacks=True)
    run(500, callbacks=True, final_only=True)


if __name__ == "__main__":
    main()
