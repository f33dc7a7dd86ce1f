"""The rows an import keeps: the upload with its mapping, preview, progress and counts
(DirectoryImport), one report line per file row (ImportReportLine), and the column mapping
each organization last used (ImportMapping).

Registered under the ``families`` app (imported at the end of ``families.models``); foreign
keys are written as strings so this module imports nothing from ``families.models``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from smsvoice.models import OrgQuerySet


class DirectoryImport(models.Model):
    """One uploaded file and everything done with it.

    The file's decoded text is kept in the database (``content``), not in MEDIA: a worker on
    another host reads it from PostgreSQL, the embedded demo needs no file storage, and a file
    is at most IMPORT_MAX_BYTES.

    Status moves (``status_move`` refuses any other)::

        mapping ──▶ checking ──▶ previewed ──▶ queued ──▶ running ──▶ done
           ▲           │  ▲           │                       │
           └───────────┘  └───────────┘ (mapping changed)     └──▶ failed (an unexpected
           (the check failed)                                  error; the chunks already
                                                               written stay, re-running the
                                                               same file finishes the rest)

    ``checking`` is the preview being computed by a task (a 20,000-row file takes longer
    than a request should); ``preview`` then holds {"checked": rows, "total": rows}.

    ``chunks_done`` counts the chunks committed; each chunk's families, report lines and this
    counter are written in one transaction, so a task delivered twice or restarted after a
    crash goes on from the first chunk not yet committed.

    The file is not kept forever (``retention``): IMPORT_FILE_RETENTION_DAYS after an import
    finished (done or failed), or after an upload that was never imported, its text and the
    row-by-row preview are emptied and ``file_purged_at`` says when. The counts and report
    lines stay: the consent events of the import point at them. A purged import that was
    never imported cannot be previewed or started again (the file must be uploaded again).
    """

    class Status(models.TextChoices):
        MAPPING = "mapping", "Mapping columns"
        CHECKING = "checking", "Checking rows"
        PREVIEWED = "previewed", "Previewed"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    MOVES = {
        Status.MAPPING: {Status.CHECKING},
        Status.CHECKING: {Status.PREVIEWED, Status.MAPPING},
        Status.PREVIEWED: {Status.CHECKING, Status.QUEUED},
        Status.QUEUED: {Status.RUNNING, Status.FAILED},
        Status.RUNNING: {Status.DONE, Status.FAILED},
        Status.DONE: set(),
        Status.FAILED: set(),
    }

    organization = models.ForeignKey("smsvoice.Organization", on_delete=models.CASCADE)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    uploaded_by_label = models.CharField(max_length=150, blank=True)
    file_name = models.CharField(max_length=255)
    content = models.TextField(help_text="The file's text, decoded.")
    encoding = models.CharField(max_length=20)
    delimiter = models.CharField(max_length=1)
    headers = models.JSONField(default=list)
    row_count = models.PositiveIntegerField(default=0)
    # {"columns": {column index: target key}, "date_order": "mdy"|"dmy", "consent_basis": str}
    mapping = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.MAPPING)
    preview = models.JSONField(default=dict, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    families_total = models.PositiveIntegerField(default=0)
    families_done = models.PositiveIntegerField(default=0)
    failure = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file_purged_at = models.DateTimeField(
        null=True, blank=True, help_text="When the file's text was removed (retention)."
    )

    objects = OrgQuerySet.as_manager()

    class Meta:
        app_label = "families"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="import_org_created")]

    def __str__(self) -> str:
        return f"Import of {self.file_name}"

    @property
    def live(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def file_purged(self) -> bool:
        return self.file_purged_at is not None

    @property
    def checked_percent(self) -> int:
        total = self.preview.get("total") or 0
        return min(100, (self.preview.get("checked") or 0) * 100 // total) if total else 0

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.families_total:
            return 0
        return min(100, self.families_done * 100 // self.families_total)


def status_move(directory_import: DirectoryImport, to: str) -> None:
    """The one way an import's status changes (in memory; the caller saves)."""
    if to not in DirectoryImport.MOVES[directory_import.status]:
        raise ValidationError(
            f"This import is {directory_import.get_status_display().lower()}, so it cannot "
            f"become {DirectoryImport.Status(to).label.lower()}."
        )
    directory_import.status = to


class ImportReportLine(models.Model):
    """What the import did with one row of the file (the report CSV is these lines)."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        UNCHANGED = "unchanged", "Unchanged"
        ERROR = "error", "Not imported (error)"
        SKIPPED = "skipped", "Skipped"

    directory_import = models.ForeignKey(
        DirectoryImport, on_delete=models.CASCADE, related_name="report_lines"
    )
    row = models.PositiveIntegerField()
    action = models.CharField(max_length=10, choices=Action.choices)
    family = models.ForeignKey(
        "families.Family", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    family_name = models.CharField(max_length=120, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        app_label = "families"
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["directory_import", "row"], name="import_line_row")]

    def __str__(self) -> str:
        return f"row {self.row}: {self.action}"


class ImportMapping(models.Model):
    """The columns an organization's last import mapped, by header, so the next file with the
    same headers comes pre-mapped: ``columns`` is {normalized header: target key}."""

    organization = models.OneToOneField(
        "smsvoice.Organization", on_delete=models.CASCADE, related_name="import_mapping"
    )
    columns = models.JSONField(default=dict)
    date_order = models.CharField(max_length=3, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrgQuerySet.as_manager()

    class Meta:
        app_label = "families"

    def __str__(self) -> str:
        return f"Import mapping of {self.organization}"
