"""What the sending benchmarks share: a scratch database and Redis, organizations seeded in bulk,
Celery worker and beat started the way production starts them, and waits that always end.

Not a benchmark itself (bin/bench runs bench/*.py, not packages). The benchmarks depend only on
the product's outside: `broadcast_create`, the recipients' statuses, the sending number's
`messages_per_second`, `manage.py credits_audit`, and the Twilio stand-in (in a process of its
own, read over HTTP), so they keep measuring while the engine's insides change.

The sending benchmarks' database is DATABASE_URL's (default smsvoice_bench) with "_sending"
added to its name (created when missing), so the list-page benchmark's data in the bench
database itself is left alone; it and the Redis database of the broker (CELERY_BROKER_URL,
default redis://127.0.0.1:6379/14) are scratch: every scenario empties both first
(`scratch()`), which refuses to unless the database's name contains "bench".
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SID, TOKEN = "AC" + "b" * 32, "bench-token"
LOG_DIR = Path(tempfile.gettempdir()) / "smsvoice-bench"
# Every setting naming one of Twilio's hosts: a bench points them all at its stand-in.
TWILIO_BASES = (
    "TWILIO_API_BASE",
    "TWILIO_MESSAGING_API_BASE",
    "TWILIO_TRUSTHUB_API_BASE",
    "TWILIO_LOOKUPS_API_BASE",
)


def configure() -> None:
    """Environment for this process and the workers it starts: production-like (DEBUG off)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsvoice.settings")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smsvoice_bench")
    url = urlparse(os.environ["DATABASE_URL"])
    if not url.path.endswith("_sending"):
        os.environ["DATABASE_URL"] = url._replace(path=url.path + "_sending").geturl()
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.update(TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN=TOKEN, SMS_BACKEND="twilio")
    LOG_DIR.mkdir(exist_ok=True)


def ensure_database() -> None:
    database_create_missing(os.environ["DATABASE_URL"])


def database_create_missing(database_url: str) -> None:
    """Create the PostgreSQL database ``database_url`` names if it is missing (connecting to
    the server's ``postgres`` database); every bench's database is made this way."""
    import psycopg2

    url = urlparse(database_url)
    name = url.path.lstrip("/")
    server = psycopg2.connect(
        host=url.hostname or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password or None,
        dbname="postgres",
    )
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")
    server.close()


def django_setup(base_url: str) -> None:
    """Point the gateway at the stand-in, set Django up and migrate the bench database."""
    configure()
    for name in TWILIO_BASES:
        os.environ[name] = base_url
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def point_at(base_url: str) -> None:
    """A later scenario's stand-in: this process's gateway and the workers started next."""
    from django.conf import settings

    from broadcasts.providers import twilio as twilio_gateway

    for name in TWILIO_BASES:
        os.environ[name] = base_url
        setattr(settings, name, base_url)
    twilio_gateway.reset_client()


def scratch() -> None:
    """Empty the bench database and the broker's Redis database (both are scratch)."""
    import redis
    from django.core.management import call_command
    from django.db import connection

    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        raise RuntimeError(f"refusing to empty {name!r}: a bench database's name says bench")
    call_command("flush", interactive=False, verbosity=0)
    redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).flushdb()


# --- organizations, in bulk ----------------------------------------------------------------------


@dataclass
class Seeded:
    organization: object
    staff: object
    sending_number: object
    numbers: list[str]
    broadcast: object | None = None
    created_at: float | None = None  # time.monotonic() just before broadcast_create
    create_seconds: float | None = None


def phone(n: int) -> str:
    """The n-th recipient number of a bench: distinct, well-formed, never a real subscriber."""
    return f"+1{200 + n // 1_000_000:03d}{5000000 + n % 1_000_000:07d}"


def seed_organization(
    name: str, recipients: int, *, e164: str, messages_per_second: int, first_number: int
) -> Seeded:
    """An organization with `recipients` opted-in families (numbers from phone(first_number) on),
    an active sending number at `messages_per_second`, a staff sender and credits for one
    broadcast to all of them."""
    from broadcasts.models import SendingNumber
    from credits.services import credits_adjust
    from families.models import ConsentEvent, Family, PhoneField, PhoneNumber
    from smsvoice.models import Organization, StaffMember

    org = Organization.objects.create(name=name, country="US")
    field_ = PhoneField.objects.create(organization=org, label="Mother cell")
    families = Family.objects.bulk_create(
        [Family(organization=org, name=f"{name} {n:06d}") for n in range(recipients)],
        batch_size=5000,
    )
    numbers = [phone(first_number + i) for i in range(recipients)]
    rows = PhoneNumber.objects.bulk_create(
        [
            PhoneNumber(
                organization=org,
                family=family,
                field=field_,
                e164=number,
                text_capable=True,
                sms_opt_in=True,
            )
            for family, number in zip(families, numbers, strict=True)
        ],
        batch_size=5000,
    )
    ConsentEvent.objects.bulk_create(
        [
            ConsentEvent(
                organization=org,
                phone_number=row,
                e164=row.e164,
                opted_in=True,
                source="import",
                note="benchmark data",
            )
            for row in rows
        ],
        batch_size=5000,
    )
    number = SendingNumber.objects.create(
        organization=org, e164=e164, status="active", messages_per_second=messages_per_second
    )
    texting_path_approved(org, number)
    staff = StaffMember.objects.create(
        organization=org, first_name="Bench", last_name="Sender", role="admin"
    )
    # Credits for one broadcast even if the text runs to a few parts.
    credits_adjust(organization=org, credits=recipients * 4, memo="benchmark credits")
    return Seeded(org, staff, number, numbers)


def texting_path_approved(org, number) -> None:
    """What an organization whose carrier path is approved has (broadcasts.readiness refuses
    texts otherwise): its Messaging Service ready with the number in the pool, and the US
    brand and campaign approved. The number keeps sending with From, as the figures were
    measured."""
    from broadcasts.models import MessagingService
    from broadcasts.registration.models import RegistrationStep

    MessagingService.objects.update_or_create(
        organization=org,
        defaults={
            "sid": "MG" + f"{org.pk:032x}",
            "state": MessagingService.State.READY,
            "pool_number_sid": number.provider_sid,
            "pool_e164": number.e164,
        },
    )
    for kind in (RegistrationStep.Kind.BRAND, RegistrationStep.Kind.CAMPAIGN):
        RegistrationStep.objects.update_or_create(
            organization=org, kind=kind, defaults={"status": RegistrationStep.Status.APPROVED}
        )


def broadcast_to_all(seeded: Seeded, text: str) -> Seeded:
    """broadcast_create to every family of the organization, timed from just before the call."""
    from broadcasts.sms.compose import broadcast_create
    from families.selection import Selection

    seeded.created_at = time.monotonic()
    seeded.broadcast = broadcast_create(
        organization=seeded.organization,
        sender=seeded.staff,
        selection=Selection(kind="families", filter_query=""),
        text=text,
    )
    seeded.create_seconds = time.monotonic() - seeded.created_at
    return seeded


# --- recipients, as the product records them -----------------------------------------------------


def recorded_sent_statuses() -> set[str]:
    from broadcasts.models import Recipient

    s = Recipient.Status
    return {s.SENT, s.DELIVERED, s.UNDELIVERED}


def final_statuses() -> set[str]:
    """Statuses a recipient does not leave. Named one by one: a status added later counts as
    unfinished, so a bench waits for it instead of calling the broadcast done too early."""
    from broadcasts.models import Recipient

    s = Recipient.Status
    return {s.SENT, s.DELIVERED, s.UNDELIVERED, s.FAILED, s.SKIPPED, s.EXCLUDED, s.UNANSWERED}


def statuses(broadcast) -> Counter:
    """How many recipients are in each status, counted by PostgreSQL: polled every 0.1 s, a
    list of every row's status would take CPU from the workers being measured."""
    from django.db.models import Count

    from broadcasts.models import Recipient

    rows = Recipient.objects.filter(broadcast_id=broadcast.pk).values("status")
    return Counter({row["status"]: row["n"] for row in rows.annotate(n=Count("id"))})


def recorded_sent(broadcast) -> int:
    counts = statuses(broadcast)
    return sum(counts[s] for s in recorded_sent_statuses())


def numbers_recorded_sent(broadcast) -> set[str]:
    from broadcasts.models import Recipient

    rows = Recipient.objects.filter(broadcast_id=broadcast.pk, status__in=recorded_sent_statuses())
    return set(rows.values_list("e164", flat=True))


def unfinished(broadcast) -> int:
    counts = statuses(broadcast)
    done = final_statuses()
    return sum(n for status, n in counts.items() if status not in done)


def ledger_balanced() -> tuple[bool, str]:
    """`manage.py credits_audit`: do every organization's ledger entries sum to its balance?"""
    from io import StringIO

    from django.core.management import CommandError, call_command

    out, err = StringIO(), StringIO()
    try:
        call_command("credits_audit", stdout=out, stderr=err)
    except CommandError as error:
        return False, f"{error}: {err.getvalue().strip()}"
    return True, out.getvalue().strip()


# --- the stand-in's side ---------------------------------------------------------------------


@dataclass
class AcceptedWatch:
    """Follows the stand-in's accepted log bit by bit (GET /_standin/accepted?since=N)."""

    client: object
    log: list = field(default_factory=list)

    def poll(self) -> list:
        new = self.client.accepted(since=len(self.log))
        self.log.extend(new)
        return self.log

    def to(self, numbers: Iterable[str]) -> list:
        wanted = set(numbers)
        return [m for m in self.poll() if m.to in wanted]


# --- Celery, started as production starts it -----------------------------------------------------


class CeleryProcess:
    """`python -m celery -A smsvoice worker|beat` in a process group of its own (so a kill
    takes the prefork pool with it), logging to a file under the temp directory."""

    def __init__(self, kind: str, *, name: str, concurrency: int = 4) -> None:
        self.kind, self.name, self.concurrency = kind, name, concurrency
        self.log = LOG_DIR / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.started_at: float | None = None

    @property
    def nodename(self) -> str:
        return f"{self.name}@{socket.gethostname()}"

    def command(self) -> list[str]:
        base = [sys.executable, "-m", "celery", "-A", "smsvoice", self.kind, "--loglevel=WARNING"]
        if self.kind == "worker":
            return [*base, f"--concurrency={self.concurrency}", "-n", self.nodename]
        schedule = LOG_DIR / f"{self.name}-schedule"
        return [*base, f"--schedule={schedule}"]

    def start(self, *, ready_timeout: float = 60.0) -> CeleryProcess:
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if self.kind == "worker":
            self._wait_ready(ready_timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        from smsvoice.celery import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if app.control.ping(destination=[self.nodename], timeout=0.5):
                return
        raise RuntimeError(f"the {self.kind} did not start:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """kill -9 of the whole process group, as a crash (or an OOM kill) would do it."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM, then_kill_after=15)

    def _signal(self, sig: int, then_kill_after: float | None = None) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.process.wait(then_kill_after or 15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(15)

    def errors(self) -> list[str]:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return [line for line in lines if "ERROR" in line or "Traceback" in line]


class Celery:
    """A worker (and optionally beat) for one scenario; stopped (or killed) on the way out."""

    def __init__(
        self, label: str, *, concurrency: int, beat: bool = True, graceful: bool = True
    ) -> None:
        self.worker = CeleryProcess("worker", name=f"{label}-worker", concurrency=concurrency)
        self.beat = CeleryProcess("beat", name=f"{label}-beat") if beat else None
        # A scenario whose leftovers are thrown away anyway ends with kill -9, not a warm
        # shutdown that would wait for the batches still running.
        self.graceful = graceful

    def start(self) -> Celery:
        # Beat first: it boots while the worker does (which is waited for), so its start-up
        # is not timed as part of a scenario — in production beat has been up for long.
        if self.beat is not None:
            self.beat.start()
        self.worker.start()
        return self

    def kill(self) -> None:
        for process in (self.beat, self.worker):
            if process is not None:
                process.kill()

    def __enter__(self) -> Celery:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        for process in (self.beat, self.worker):
            if process is not None:
                process.stop() if self.graceful else process.kill()

    def report_errors(self) -> None:
        for process in (self.worker, self.beat):
            if process is not None and process.errors():
                count = len(process.errors())
                print(f"  ({process.name} logged {count} error lines: {process.log})")


# --- waiting, always bounded ---------------------------------------------------------------------


def wait_until(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def seconds(value: float | None, bound: float) -> str:
    """A duration for print, or "> bound s" when the wait gave up."""
    return f"> {bound:.0f} s" if value is None else f"{value:.1f} s"


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def machine() -> str:
    """CPUs, date and the load average when asked: a shared machine's figures are noisy."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load {load}, {time.strftime('%Y-%m-%d %H:%M')}"
