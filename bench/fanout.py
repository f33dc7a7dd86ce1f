"""SMS fan-out throughput: a 10,000-recipient broadcast through the Twilio stand-in at 100 ms
per request, with a real Celery worker on Redis and PostgreSQL.

Prints messages/s end to end (from the broadcast's creation until every recipient is recorded
as sent, audit entries included), beside a sequential loop over the twilio SDK (200 messages)
and the stand-in's own ceiling measured by a minimal aiohttp client, with the ratios.
Asserts nothing. Run by `make bench` (DATABASE_URL and CELERY_BROKER_URL come from there).

Knobs (environment): BENCH_RECIPIENTS (10000), BENCH_WORKER_PROCESSES (4),
SMS_SEND_CONCURRENCY (requests in flight per worker process, 250), SMS_BATCH_SIZE (1000).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsvoice.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smsvoice_bench")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")

RECIPIENTS = int(os.environ.get("BENCH_RECIPIENTS", "10000"))
WORKERS = int(os.environ.get("BENCH_WORKER_PROCESSES", "4"))
IN_FLIGHT = os.environ.get("SMS_SEND_CONCURRENCY", "250")
BATCH = os.environ.get("SMS_BATCH_SIZE", "1000")
LATENCY = 0.1
SID, TOKEN = "AC" + "b" * 32, "bench-token"


def ensure_database() -> None:
    import psycopg2

    url = urlparse(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    admin = psycopg2.connect(
        host=url.hostname, port=url.port or 5432, user=url.username or "postgres", dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def setup_django(base_url: str) -> None:
    os.environ.update(
        TWILIO_ACCOUNT_SID=SID,
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_API_BASE=base_url,
        SMS_BACKEND="twilio",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_organization():
    """An organization with RECIPIENTS opted-in families (made once, reused by later runs)."""
    from broadcasts.models import SendingNumber
    from families.models import ConsentEvent, Family, PhoneField, PhoneNumber
    from smsvoice.models import Organization, StaffMember

    org, _ = Organization.objects.get_or_create(name="Bench Gym", defaults={"country": "US"})
    have = Family.objects.for_org(org).count()
    if have < RECIPIENTS:
        field, _ = PhoneField.objects.get_or_create(organization=org, label="Mother cell")
        families = Family.objects.bulk_create(
            [Family(organization=org, name=f"Bench {n:05d}") for n in range(have, RECIPIENTS)],
            batch_size=2000,
        )
        numbers = PhoneNumber.objects.bulk_create(
            [
                PhoneNumber(
                    organization=org,
                    family=f,
                    field=field,
                    e164=_number(have + i),
                    text_capable=True,
                    sms_opt_in=True,
                )
                for i, f in enumerate(families)
            ],
            batch_size=2000,
        )
        ConsentEvent.objects.bulk_create(
            [
                ConsentEvent(
                    organization=org,
                    phone_number=p,
                    e164=p.e164,
                    opted_in=True,
                    source="import",
                    note="benchmark data",
                )
                for p in numbers
            ],
            batch_size=2000,
        )
    SendingNumber.objects.get_or_create(
        organization=org,
        status="active",
        defaults={"e164": "+14155550199", "messages_per_second": 100_000},
    )
    sender, _ = StaffMember.objects.get_or_create(
        organization=org, first_name="Bench", last_name="Sender", defaults={"role": "admin"}
    )
    return org, sender


def _number(n: int) -> str:
    # Distinct, well-formed numbers; the stand-in accepts any E.164.
    return f"+1{200 + n // 10_000:03d}{5550000 + n % 10_000:07d}"


def start_worker(base_url: str) -> tuple[subprocess.Popen, Path]:
    log = Path(tempfile.mkstemp(prefix="bench-worker-", suffix=".log")[1])
    env = {
        **os.environ,
        "TWILIO_API_BASE": base_url,
        "SMS_SEND_CONCURRENCY": IN_FLIGHT,
        "SMS_BATCH_SIZE": BATCH,
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "smsvoice",
            "worker",
            "--loglevel=WARNING",
            f"--concurrency={WORKERS}",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    time.sleep(4)  # workers import Django and connect to Redis
    if process.poll() is not None:
        raise RuntimeError(f"the worker did not start:\n{log.read_text()}")
    return process, log


def fanout(org, sender) -> tuple[float, int]:
    from broadcasts.models import Recipient
    from broadcasts.sms.compose import broadcast_create
    from credits.services import credits_adjust
    from families.selection import Selection

    credits_adjust(organization=org, credits=RECIPIENTS, memo="benchmark top-up")
    selection = Selection(kind="families", filter_query="")
    started = time.monotonic()
    broadcast = broadcast_create(
        organization=org, sender=sender, selection=selection, text="Benchmark: gym closed today"
    )
    created = time.monotonic() - started
    remaining = Recipient.objects.filter(broadcast=broadcast, status__in=["pending", "sending"])
    while remaining.exists():
        if time.monotonic() - started > 600:
            raise RuntimeError("the broadcast did not finish in 10 minutes")
        time.sleep(0.25)
    elapsed = time.monotonic() - started
    sent = Recipient.objects.filter(broadcast=broadcast, status="sent").count()
    print(f"  created the broadcast and its {sent:,} recipients in {created:.2f} s")
    return elapsed, sent


def sequential(count: int = 200) -> float:
    from broadcasts.providers import twilio as twilio_gateway

    twilio_gateway.reset_client()
    started = time.monotonic()
    for n in range(count):
        twilio_gateway.sms_send(to=_number(n), from_="+14155550199", body="sequential")
    return count / (time.monotonic() - started)


def ceiling(base_url: str) -> float:
    import standin_ceiling

    result = asyncio.run(standin_ceiling.drive(base_url, 500, None))
    return result["rate"]


def main() -> None:
    from tests.twilio_standin.process import standin_process

    ensure_database()
    with standin_process(
        latency=LATENCY, callbacks=False, account_sid=SID, auth_token=TOKEN
    ) as base_url:
        setup_django(base_url)
        org, sender = bench_organization()
        worker, log = start_worker(base_url)
        try:
            elapsed, sent = fanout(org, sender)
        finally:
            os.killpg(worker.pid, 15)
            worker.wait(30)
        rate = sent / elapsed
        seq = sequential()
        top = ceiling(base_url)
    print(
        f"SMS fan-out, {LATENCY * 1000:.0f} ms per provider request, {os.cpu_count()} CPUs, "
        f"{WORKERS} worker processes x {IN_FLIGHT} in flight, batches of {BATCH}"
    )
    print(
        f"  fan-out (real worker, Redis, PostgreSQL): {sent:,} messages in {elapsed:.1f} s "
        f"= {rate:,.0f} msg/s"
    )
    print(
        f"  sequential twilio SDK loop (200 messages): {seq:,.1f} msg/s  -> fan-out is "
        f"{rate / seq:,.0f}x"
    )
    print(
        f"  stand-in ceiling (aiohttp client, 500 in flight): {top:,.0f} req/s  -> fan-out "
        f"reaches {rate / top:.0%} of it"
    )
    if "ERROR" in log.read_text():
        print(f"  worker log has errors: {log}")


if __name__ == "__main__":
    main()
