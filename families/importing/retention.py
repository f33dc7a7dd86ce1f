"""How long an import's uploaded file is kept: IMPORT_FILE_RETENTION_DAYS after the import
finished (done or failed), or after the upload when it was never imported (left at matching
columns or at the preview). Then the daily job (``import_files_purge``, in the beat schedule,
under a non-blocking lock) empties the file's text and the row-by-row preview read from it,
and records when on the import (``file_purged_at``).

What stays is the evidence: the counts, the report lines, the stated consent basis, the file's
name and who uploaded it (consent events of the import name them). Imports being checked,
queued or running are never touched: their task reads the file.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from families.importing.models import DirectoryImport
from smsvoice.locks import try_lock

Status = DirectoryImport.Status
FINISHED = (Status.DONE, Status.FAILED)
ABANDONED = (Status.MAPPING, Status.PREVIEWED)
# What a purged preview keeps: its totals, not its rows, errors and warnings (they quote the
# file's names and numbers).
PREVIEW_KEPT = ("counts", "checked", "total", "new_locations", "new_programs")


def retention_days() -> int:
    return settings.IMPORT_FILE_RETENTION_DAYS


def imports_to_purge(*, now: datetime):
    """Imports whose file has been kept long enough, oldest first."""
    cutoff = now - timedelta(days=retention_days())
    finished = Q(status__in=FINISHED) & (
        Q(finished_at__lt=cutoff) | Q(finished_at__isnull=True, created_at__lt=cutoff)
    )
    abandoned = Q(status__in=ABANDONED, created_at__lt=cutoff)
    found = DirectoryImport.objects.filter(file_purged_at__isnull=True)
    return found.filter(finished | abandoned).order_by("created_at", "id")


def import_files_purge(*, now: datetime | None = None) -> dict[str, int]:
    """The daily job; two beat ticks (or two workers) never run it at once."""
    with try_lock("import-files-purge", timeout=30 * 60) as mine:
        if not mine:
            return {"skipped": 1}
        now = now or timezone.now()
        ids = list(imports_to_purge(now=now).values_list("pk", flat=True))
        purged = sum(import_file_purge(directory_import_id=pk, now=now) for pk in ids)
        return {"purged": purged}


@transaction.atomic
def import_file_purge(*, directory_import_id: int, now: datetime) -> int:
    """Empty one import's file, 1 if done now. Under the row's lock, and only if it is still
    finished or abandoned: an admin may have started a check or the import meanwhile."""
    locked = (
        DirectoryImport.objects.select_for_update()
        .defer("content")
        .filter(pk=directory_import_id, file_purged_at__isnull=True)
        .filter(status__in=FINISHED + ABANDONED)
        .first()
    )
    if locked is None:
        return 0
    locked.content = ""
    locked.preview = {k: v for k, v in locked.preview.items() if k in PREVIEW_KEPT}
    locked.file_purged_at = now
    locked.save(update_fields=["content", "preview", "file_purged_at"])
    return 1
