"""The import through a real Celery worker on Redis and PostgreSQL: enqueued when the start
commits, written chunk by chunk (each chunk its own transaction, its progress visible to the
page while the next is written), finished with a report line per row."""

import time

import pytest
from django.db import transaction

from families.importing import apply
from families.importing.models import DirectoryImport
from families.models import Family, Student
from tests.factories import StaffMemberFactory
from tests.families.importing.helpers import make_import, template

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
    org, celery_worker_process, settings, tmp_path, monkeypatch
):
    from tests.families.importing import helpers

    template(org)
    admin = StaffMemberFactory(organization=org, role="admin")
    settings.IMPORT_CHUNK_FAMILIES = 8
    data = school_file(tmp_path).encode()
    monkeypatch.setattr(helpers, "read", lambda name: data)
    imported = make_import(org, admin.user, "school.csv")
    assert imported.preview["counts"]["families_created"] == FAMILIES

    celery_worker_process.start(concurrency=1)
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
    assert "directory_import_run" in celery_worker_process.log()
