"""Composing an SMS broadcast to 50,000 numbers: how long the compose window's preview and the
create (recipients plus the debit, one transaction) take when staff select every family.

Builds (once; later runs reuse it) an organization of BENCH_COMPOSE_FAMILIES families, each
with two guardians, one or two students, the mother's cell opted in (so 50,000 distinct
numbers are messaged) and, in half of the families, a father's cell that never opted in (left
out, so the plan also sorts out reasons). Then times ``broadcast_preview`` and
``broadcast_create`` for "every family", with a plain text and with merge fields, BENCH_RUNS
times each after one warm-up, and prints the median, the fastest and the slowest. Asserts
nothing. Each created broadcast is deleted again (its recipients with it) and its credits
given back, so runs do not pile up; dispatching is switched off (no broker: tasks would
otherwise run in-process and text 50,000 outbox numbers).

Run by ``make bench``, which points DATABASE_URL at a database of its own (made here if
missing). Refuses a PostgreSQL database whose name does not contain ``bench``.
Knobs (environment): BENCH_COMPOSE_FAMILIES (50000), BENCH_RUNS (5).
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsvoice.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smsvoice_bench")
os.environ.setdefault("LOG_LEVEL", "WARNING")
warnings.filterwarnings("ignore", message="No directory at")

FAMILIES = int(os.environ.get("BENCH_COMPOSE_FAMILIES", "50000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
ORG_NAME = "Bench Gymnastics (compose, varied names)"
BATCH = 5000
# Names as a real school's directory has them: a few hundred given names and thousands of
# surnames, so nearly every family's greeting and children differ (50,000 families share only
# a few dozen merged texts when names repeat in a short cycle, and merging then costs nothing),
# with the accents (some outside GSM-7, which makes that family's text UCS-2), apostrophes and
# hyphens real names bring. Drawn from a seeded generator: every build makes the same ones.
GIVEN_STARTS = (
    "Ma",
    "Jo",
    "Li",
    "Ka",
    "So",
    "Da",
    "Ro",
    "Ni",
    "Sa",
    "El",
    "Ar",
    "Be",
    "Ca",
    "Lu",
    "Mi",
    "Ta",
    "Ja",
    "Ha",
    "Ev",
    "Is",
    "No",
    "Le",
    "Ad",
    "Ol",
    "Ze",
)
GIVEN_ENDS = (
    "ria",
    "nah",
    "ley",
    "son",
    "la",
    "vid",
    "sa",
    "na",
    "ra",
    "en",
    "ia",
    "lo",
    "ma",
    "ton",
    "die",
    "rin",
    "ah",
    "el",
    "lie",
)
SURNAME_PARTS = (
    (
        "Wes",
        "Gar",
        "Chen",
        "Pat",
        "Ngu",
        "Oka",
        "Smi",
        "Kim",
        "Rey",
        "Mac",
        "Van",
        "Del",
        "Ber",
        "Hol",
        "Fitz",
        "Mor",
        "San",
        "Lar",
        "Ost",
        "Wal",
    ),
    (
        "t",
        "ci",
        "el",
        "y",
        "o",
        "for",
        "th",
        "ber",
        "ld",
        "ra",
        "ov",
        "ing",
        "man",
        "ez",
        "ers",
        "ton",
    ),
    ("", "a", "son", "ski", "berg", "ley", "wood", "er", "ova", "ez", "et", "dale"),
)
# One name in fifty carries one of these: é and ñ are GSM-7; ë, ł, ó and ç are not.
ACCENTED = {"e": ("é", "ë"), "n": ("ñ",), "l": ("ł",), "o": ("ó",), "c": ("ç",)}
BATCH = 5000
TEXTS = {
    "plain text": "The gym is closed today because of snow. See you tomorrow!",
    "merge fields": "Hi {first_name}, {student_first_name}'s class at {organization} is "
    "cancelled today because of snow.",
}


def database_ensure() -> None:
    url = urlparse(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    if url.scheme not in ("postgres", "postgresql"):
        return  # SQLite: a file of its own is made by migrate
    if "bench" not in name:
        sys.exit(f"compose_50k: DATABASE_URL must name a bench database (got …/{name}).")

    import harness  # bench/ is on the path: it is this script's folder

    harness.database_create_missing(os.environ["DATABASE_URL"])


def django_setup() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from smsvoice.celery import app

    call_command("migrate", verbosity=0)
    settings.DEBUG = False
    # Nothing is dispatched: the broadcast's fan-out task goes to an in-memory broker.
    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://"


def organization_ensure():
    from broadcasts.models import SendingNumber
    from families.models import Family
    from smsvoice.models import Organization, StaffMember

    org, _ = Organization.objects.get_or_create(name=ORG_NAME, defaults={"country": "US"})
    if not StaffMember.objects.for_org(org).exists():
        StaffMember.objects.create(organization=org, first_name="Bench", last_name="Coach")
    if not SendingNumber.objects.for_org(org).filter(status="active").exists():
        SendingNumber.objects.create(organization=org, e164="+12155550198", provider_sid="PNb")
    have = Family.objects.for_org(org).count()
    if have < FAMILIES:
        print(f"building {FAMILIES - have:,} families (once; later runs reuse them)…", flush=True)
        started = time.perf_counter()
        families_build(org, start=have, count=FAMILIES - have)
        print(f"built in {time.perf_counter() - started:.1f} s", flush=True)
    return org


def names_drawn(seed: int) -> tuple[list[str], list[str]]:
    """(given names, surnames): 475 given names and 3,840 surnames, a few accented, a few
    with an apostrophe or a hyphen."""
    import random

    draw = random.Random(seed)

    def accented(name: str) -> str:
        at = [i for i, ch in enumerate(name) if ch in ACCENTED]
        if not at or draw.random() >= 0.02:
            return name
        i = draw.choice(at)
        return name[:i] + draw.choice(ACCENTED[name[i]]) + name[i + 1 :]

    given = [accented(a + b) for a in GIVEN_STARTS for b in GIVEN_ENDS]
    surnames = [
        accented(a + b + c)
        for a in SURNAME_PARTS[0]
        for b in SURNAME_PARTS[1]
        for c in SURNAME_PARTS[2]
    ]
    for i in range(0, len(surnames), 97):
        surnames[i] = "O'" + surnames[i]
    for i in range(50, len(surnames), 89):
        surnames[i] = surnames[i] + "-" + surnames[(i * 7) % len(surnames)]
    return given, surnames


def families_build(org, *, start: int, count: int) -> None:
    import random

    from django.db import connection, transaction

    from families.models import Family, Guardian, PhoneField, PhoneNumber, Student

    mother_cell, _ = PhoneField.objects.get_or_create(
        organization=org, label="Mother cell", defaults={"order": 1}
    )
    father_cell, _ = PhoneField.objects.get_or_create(
        organization=org, label="Father cell", defaults={"order": 2}
    )
    given, surnames = names_drawn(seed=2026)
    draw = random.Random(start)
    for first in range(start, start + count, BATCH):
        indexes = range(first, min(first + BATCH, start + count))
        with transaction.atomic():
            families = Family.objects.bulk_create(
                [Family(organization=org, name=draw.choice(surnames)) for _ in indexes]
            )
            guardians = Guardian.objects.bulk_create(
                [
                    Guardian(
                        organization=org, family=f, first_name=draw.choice(given), last_name=f.name
                    )
                    for f in families
                    for _parent in range(2)
                ]
            )
            Student.objects.bulk_create(
                [
                    Student(
                        organization=org,
                        family=f,
                        first_name=draw.choice(given),
                        last_name=f.name,
                    )
                    for i, f in zip(indexes, families, strict=True)
                    for _child in range(1 + i % 2)
                ]
            )
            numbers = []
            for n, (i, family) in enumerate(zip(indexes, families, strict=True)):
                mother, father = guardians[2 * n], guardians[2 * n + 1]
                numbers.append(
                    PhoneNumber(
                        organization=org,
                        family=family,
                        field=mother_cell,
                        guardian=mother,
                        e164=f"+1{201 + i // 10000}555{i % 10000:04d}",
                        sms_opt_in=True,
                    )
                )
                if i % 2:
                    numbers.append(
                        PhoneNumber(
                            organization=org,
                            family=family,
                            field=father_cell,
                            guardian=father,
                            e164=f"+1{301 + i // 10000}555{i % 10000:04d}",
                        )
                    )
            PhoneNumber.objects.bulk_create(numbers)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")


def credits_ensure(org, needed: int) -> None:
    from credits.selectors import credits_balance
    from credits.services import credits_adjust

    have = credits_balance(organization=org)
    if have < needed:
        credits_adjust(organization=org, credits=needed - have, memo="bench")


def timed(
    call: Callable[[], object], after: Callable[[object], None] | None = None
) -> tuple[list[float], object]:
    """Seconds of each of RUNS calls after a warm-up; ``after`` (untimed) tidies each call up."""
    times, result = [], None
    for run in range(RUNS + 1):
        started = time.perf_counter()
        result = call()
        if run:  # the first is the warm-up: caches, prepared plans
            times.append(time.perf_counter() - started)
        if after is not None:
            after(result)
    return times, result


def main() -> None:
    database_ensure()
    django_setup()
    from django.db import connection

    from broadcasts.sms.compose import broadcast_create, broadcast_preview
    from credits.services import credits_adjust
    from families.selection import Selection
    from smsvoice.models import StaffMember

    org = organization_ensure()
    sender = StaffMember.objects.for_org(org).first()
    everyone = Selection(kind="families", filter_query="")
    rows, distinct = [], {}
    for label, text in TEXTS.items():
        times, preview = timed(
            lambda text=text: broadcast_preview(organization=org, selection=everyone, text=text)
        )
        rows.append((f"preview, {label}", times, preview))
        credits_ensure(org, preview.credits_needed * (RUNS + 2))

        texts: set[int] = set()
        times, _ = timed(
            lambda text=text: broadcast_create(
                organization=org, sender=sender, selection=everyone, text=text
            ),
            after=lambda broadcast, texts=texts: texts.add(_undo(broadcast, credits_adjust, org)),
        )
        rows.append((f"create, {label}", times, preview))
        distinct[label] = texts.pop()
    print(header(org, connection))
    print(
        f"    {'':34} {'median s':>9} {'fastest':>8} {'slowest':>8}  messages  left out"
        "  distinct texts"
    )
    for label, times, preview in rows:
        print(
            f"    {label:34} {statistics.median(times):9.2f} {min(times):8.2f} {max(times):8.2f}"
            f"  {preview.messages:8,}  {preview.excluded_total:7,}"
            f"  {distinct[label.split(', ', 1)[1]]:14,}"
        )


def _undo(broadcast, credits_adjust, org) -> int:
    """Untimed: delete the broadcast (and so its recipients) and give its credits back, and
    vacuum the recipients' table, so the next run starts from the same tables (without it each
    run's 75,000 dead rows and their index entries pile up under the next run's writes).
    Returns how many distinct texts its recipients were sent (merged: one per greeting)."""
    from django.db import connection

    from broadcasts.models import Recipient

    messaged = Recipient.objects.filter(broadcast=broadcast).exclude(status="excluded")
    distinct = messaged.values("text").distinct().count()
    credits_adjust(organization=org, credits=broadcast.credits_debited, memo="bench undo")
    broadcast.delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM broadcasts_recipient")
    return distinct


def header(org, connection) -> str:
    import django

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
        else:
            database = f"SQLite {connection.Database.sqlite_version}"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"Compose (preview and create) — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n"
        f"machine: {os.cpu_count()} CPUs ({_cpu_model()}), {_memory_gib()} GiB RAM; "
        f"{_loop_seconds():.2f} s for a Python loop of 10 million additions (its speed now)\n"
        f"software: Python {platform.python_version()}, Django {django.get_version()}, "
        f"{database}\n"
        f"data: {FAMILIES:,} families selected with 'all matching'; runs: {RUNS} after 1 warm-up\n"
        f"load average at the end: {load}"
    )


def _loop_seconds() -> float:
    """How fast this host runs Python at the moment (the hosts here differ, and vary by half
    from hour to hour): the best of three loops of 10 million additions."""
    best = float("inf")
    for _ in range(3):
        started, total = time.perf_counter(), 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return best


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> str:
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return "?"
    return f"{kib / 1024 / 1024:.0f}"


if __name__ == "__main__":
    main()
