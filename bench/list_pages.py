"""List pages with 50,000 families: how long the staff lists and the "select all matching" count
take, and how many queries each costs.

Builds (once; later runs reuse it) an organization of 50,000 families, about 75,000 students,
their phone numbers and opt-ins with consent evidence, with the same generator as
``manage.py seed_demo``. Then, logged in as its staff through Django's test client (the whole
request: middleware, filters, paging, templates), times each page BENCH_RUNS times after two
warm-up requests and prints the median, the 95th percentile and the query count. Asserts nothing.

Run by ``make bench``, which points DATABASE_URL at a database of its own (made here if
missing). Refuses a database whose name does not end in ``_bench``, so it never fills a real one.
Knobs (environment): BENCH_FAMILIES (50000), BENCH_RUNS (20).
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsvoice.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smsvoice_bench")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# WhiteNoise looks for collected static files, which list pages do not need.
warnings.filterwarnings("ignore", message="No directory at")

FAMILIES = int(os.environ.get("BENCH_FAMILIES", "50000"))
RUNS = int(os.environ.get("BENCH_RUNS", "20"))
ORG_NAME = "Bench Gymnastics (list pages)"
STAFF_LOGIN = "bench-staff@bench.test"


def database_ensure() -> None:
    """Create the bench database if it is missing (connecting to the server's postgres db)."""

    url = urlparse(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    if url.scheme not in ("postgres", "postgresql") or not name.endswith("_bench"):
        sys.exit(
            f"list_pages: DATABASE_URL must name a PostgreSQL database ending in _bench "
            f"(got {url.scheme}://…/{name}); `make bench` sets one."
        )
    import harness  # bench/ is on the path: it is this script's folder

    harness.database_create_missing(os.environ["DATABASE_URL"])


def django_setup() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # Measure as production serves: no query log kept per request, no template debug.
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


def organization_ensure():
    """The 50,000-family organization, built with seed_demo's generator if not there yet."""
    from django.db import connection

    from families.management.commands.seed_demo import (
        DEMO_GYMNASTICS,
        StaffSpec,
        demo_organization_seed,
    )
    from families.models import Family
    from smsvoice.models import Organization, StaffMember

    org = Organization.objects.filter(name=ORG_NAME).first()
    have = Family.objects.for_org(org).count() if org else 0
    if have < FAMILIES:
        print(f"building {FAMILIES - have:,} families (once; later runs reuse them)…", flush=True)
        spec = replace(
            DEMO_GYMNASTICS,
            name=ORG_NAME,
            staff=(StaffSpec("Bench", "Staff", "Coach", StaffMember.Role.STAFF, STAFF_LOGIN),),
            # 555-01XX gives 100 numbers per area code, so ~110,000 numbers repeat: fine for
            # timing lists, which never look a number up across families.
            parent_login="",
        )
        started = time.perf_counter()
        org = demo_organization_seed(spec=spec, families=FAMILIES).organization
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh planner statistics after a bulk load
        print(f"built in {time.perf_counter() - started:.1f} s", flush=True)
    return org


def measure(call: Callable[[], object]) -> tuple[float, float, int, float]:
    """Median and 95th percentile in ms over RUNS calls; the queries of one call and the ms
    they took in the database (the rest of a request is Python: filters, paging, templates)."""
    from django.db import connection

    for _ in range(2):
        call()
    # Counted at the cursor: a request resets Django's own query log when it starts.
    executed: list[float] = []

    def counting(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            executed.append((time.perf_counter() - started) * 1000)

    with connection.execute_wrapper(counting):
        call()
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[max(0, math.ceil(0.95 * len(times)) - 1)]
    return statistics.median(times), p95, len(executed), sum(executed)


def page(client, url: str, **params) -> Callable[[], object]:
    def call():
        response = client.get(url, params)
        if response.status_code != 200:
            sys.exit(f"list_pages: {url} {params} answered {response.status_code}")
        return response

    return call


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return f"{os.cpu_count()} CPUs ({cpu}), {memory_kb / 1024 / 1024:.0f} GiB RAM"


def main() -> None:
    database_ensure()
    django_setup()

    import django
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from families.models import ConsentEvent, Family, Location, PhoneNumber, Program, Student
    from families.selection import Selection, selection_count
    from smsvoice.models import StaffMember

    org = organization_ensure()
    staff = StaffMember.objects.for_org(org).exclude(user=None).select_related("user").first()
    client = Client()
    client.force_login(staff.user)
    program = Program.objects.for_org(org).get(name="Ninja")
    families_url = reverse("families:family_list")
    students_url = reverse("families:student_list")
    program_filter = {"program": str(program.pk)}
    riverside = Location.objects.for_org(org).get(name="Riverside")

    def count(query: dict[str, str]) -> Callable[[], int]:
        selection = Selection(kind="families").with_filter(query)
        return lambda: selection_count(organization=org, selection=selection)

    def select_all_matching(query: dict[str, str]) -> None:
        response = client.post(
            reverse("families:selection", args=["families"]),
            {"action": "all-matching", "query": urlencode(query)},
        )
        if response.status_code != 302:
            sys.exit(f"list_pages: selecting all matching answered {response.status_code}")

    cases: list[tuple[str, Callable[[], object]]] = [
        ("families, page 1", page(client, families_url)),
        ("families, program filter, page 1", page(client, families_url, **program_filter)),
        ("families, page 500", page(client, families_url, page="500")),
        (
            "families, sorted by location, page 200",
            page(client, families_url, sort="location", page="200"),
        ),
        # Search: a surname, a common first-name fragment (many guardians and students), the
        # digits of a number; each part answered by its trigram index (families 0004).
        ("families, search 'garcia'", page(client, families_url, q="garcia")),
        ("families, search 'ana'", page(client, families_url, q="ana")),
        ("families, search '5550142' (a number)", page(client, families_url, q="5550142")),
        ("students, page 1", page(client, students_url)),
        (
            "students, program + level filter",
            page(client, students_url, **program_filter, level="Ninja 2"),
        ),
        ("students, page 700", page(client, students_url, page="700")),
        ("select-all count: every family", count({})),
        ("select-all count: program filter", count(program_filter)),
        (
            "select-all count: opted in + location",
            count({"opted_in": "yes", "location": str(riverside.pk)}),
        ),
        ("select-all count: search 'garcia'", count({"q": "garcia"})),
    ]
    results = []
    for name, call in cases:
        results.append((name, *measure(call)))
    # The list page with "all matching" ticked: the bar's count rides on every page view.
    select_all_matching(program_filter)
    results.append(
        ("families, page 1, all matching selected", *measure(page(client, families_url)))
    )

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    numbers = PhoneNumber.objects.for_org(org)
    print()
    print(f"List pages — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    print(
        f"software: Python {platform.python_version()}, Django {django.get_version()}, "
        f"PostgreSQL {pg_version.split()[0]}"
    )
    print(
        f"data: {Family.objects.for_org(org).count():,} families, "
        f"{Student.objects.for_org(org).count():,} students, {numbers.count():,} numbers "
        f"({numbers.filter(sms_opt_in=True).count():,} opted in, "
        f"{ConsentEvent.objects.for_org(org).count():,} consent events)"
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"runs: {RUNS} per row after 2 warm-up; whole requests through Django's test client")
    print(f"load average at the end: {load} (other work on the machine inflates the figures)")
    print()
    width = max(len(name) for name, *_ in results)
    print(f"{'':<{width}}  {'median ms':>9}  {'p95 ms':>7}  {'queries':>7}  {'SQL ms':>6}")
    for name, median, p95, queries, sql_ms in results:
        print(f"{name:<{width}}  {median:>9.1f}  {p95:>7.1f}  {queries:>7}  {sql_ms:>6.1f}")


if __name__ == "__main__":
    main()
