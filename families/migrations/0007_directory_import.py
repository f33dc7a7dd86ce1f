"""Issue 14: CSV imports and their remembered column mappings."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

STATUSES = [
    ("mapping", "Mapping columns"),
    ("checking", "Checking rows"),
    ("previewed", "Previewed"),
    ("queued", "Queued"),
    ("running", "Importing"),
    ("done", "Done"),
    ("failed", "Failed"),
]
ACTIONS = [
    ("created", "Created"),
    ("updated", "Updated"),
    ("unchanged", "Unchanged"),
    ("error", "Not imported (error)"),
    ("skipped", "Skipped"),
]


def _id() -> models.BigAutoField:
    return models.BigAutoField(
        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("families", "0006_external_ids"),
        ("smsvoice", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DirectoryImport",
            fields=[
                ("id", _id()),
                ("uploaded_by_label", models.CharField(blank=True, max_length=150)),
                ("file_name", models.CharField(max_length=255)),
                ("content", models.TextField(help_text="The file's text, decoded.")),
                ("encoding", models.CharField(max_length=20)),
                ("delimiter", models.CharField(max_length=1)),
                ("headers", models.JSONField(default=list)),
                ("row_count", models.PositiveIntegerField(default=0)),
                ("mapping", models.JSONField(default=dict)),
                ("status", models.CharField(choices=STATUSES, default="mapping", max_length=10)),
                ("preview", models.JSONField(blank=True, default=dict)),
                ("counts", models.JSONField(blank=True, default=dict)),
                ("chunks_total", models.PositiveIntegerField(default=0)),
                ("chunks_done", models.PositiveIntegerField(default=0)),
                ("families_total", models.PositiveIntegerField(default=0)),
                ("families_done", models.PositiveIntegerField(default=0)),
                ("failure", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to="smsvoice.organization"
                    ),
                ),
                (
                    "uploaded_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["organization", "-created_at"], name="import_org_created")
                ],
            },
        ),
        migrations.CreateModel(
            name="ImportMapping",
            fields=[
                ("id", _id()),
                ("columns", models.JSONField(default=dict)),
                ("date_order", models.CharField(blank=True, max_length=3)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "organization",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="import_mapping",
                        to="smsvoice.organization",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="ImportReportLine",
            fields=[
                ("id", _id()),
                ("row", models.PositiveIntegerField()),
                ("action", models.CharField(choices=ACTIONS, max_length=10)),
                ("family_name", models.CharField(blank=True, max_length=120)),
                ("message", models.TextField(blank=True)),
                (
                    "directory_import",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="report_lines",
                        to="families.directoryimport",
                    ),
                ),
                (
                    "family",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="families.family",
                    ),
                ),
            ],
            options={
                "ordering": ["row", "id"],
                "indexes": [
                    models.Index(fields=["directory_import", "row"], name="import_line_row")
                ],
            },
        ),
    ]
