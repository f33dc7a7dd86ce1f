"""The import through a real Celery worker on Redis and PostgreSQL: its preview checked by the
worker, then the import enqueued when the start commits, written chunk by chunk (each chunk
its own transaction, its progress visible to the page while the next is written), finished
with a report line per row."""

import time

import pytest
from django.db import transaction

from families.importing import apply, mapping
from families.importing.models import DirectoryImport
from families.importing.parse import parse_text
from families.importing.plan import Config
from families.models import Family, Student
from tests.factories import StaffMemberFactory
from tests.families.importing.helpers import template

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
FAMILIES = 120


def school_file(tmp_path) -> str:
    """120 families of two students each, one row per student, grouped by Account #."""
    lines = ["Account #,Family Name,Parent Email,Mother Cell,Child First Name,Child Last Name"]
    for n in range(FAMILIES):
        phone = f"+1{(202, 212, 213, 312)[n // 100]}555{100 + n % 100:04d}"
        for child in ("Ann", "Ben"):
            lines.append(f"A-{n},Family {n:03d},p{n}@example.test,{phone},{child},Family {n:03d}")
    return "\n".join(lines) + "\n"


def test_an_import_runs_in_chunks_on_a_worker_with_progress(
    org, celery_worker_process, settings, tmp_path
):
    template(org)
    admin = StaffMemberFactory(organization=org, role="admin")
    settings.IMPORT_CHUNK_FAMILIES = 8
    imported = apply.import_create(
        organization=org,
        actor=admin.user,
        actor_label="Admin",
        file_name="school.csv",
        data=school_file(tmp_path).encode(),
    )
    parsed = parse_text(imported.content)
    columns = mapping.guess_mapping(parsed.headers, organization=org)

    celery_worker_process.start(concurrency=1)
    # The preview is checked by the worker too.
    with transaction.atomic():
        apply.import_check_start(directory_import=imported, config=Config(columns=columns))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        imported.refresh_from_db()
        if imported.status != "checking":
            break
        time.sleep(0.1)
    assert imported.status == "previewed", celery_worker_process.log()
    assert imported.preview["counts"]["families_created"] == FAMILIES

    with transaction.atomic():
        apply.import_start(directory_import=imported, actor=admin.user, actor_label="Admin")

    seen: list[int] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        row = DirectoryImport.objects.values("status", "families_done").get(pk=imported.pk)
        seen.append(row["families_done"])
        if row["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    imported.refresh_from_db()
    assert imported.status == "done", celery_worker_process.log()
    assert imported.chunks_done == imported.chunks_total == FAMILIES // 8
    # The page saw the import advance chunk by chunk, never backwards.
    assert seen == sorted(seen)
    steps = {value for value in seen if 0 < value < FAMILIES}
    assert len(steps) >= 3 and all(value % 8 == 0 for value in steps)
    assert Family.objects.for_org(org).count() == FAMILIES
    assert Student.objects.for_org(org).count() == 2 * FAMILIES
    assert imported.report_lines.count() == 2 * FAMILIES
    # What the worker did, row by row, is what the preview said it would do.
    done = list(imported.report_lines.order_by("row").values_list("row", "action"))
    assert done == [(row, action) for row, action, *_ in imported.preview["rows"]]
    assert imported.counts["families_created"] == FAMILIES
    assert " ERROR" not in celery_worker_process.log()
    assert "directory_import_check" in celery_worker_process.log()
    assert "directory_import_run" in celery_worker_process.log()
