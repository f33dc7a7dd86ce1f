"""Issue 11: A2P 10DLC brand and campaign, toll-free verification."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("broadcasts", "0008_messaging_service"),
        ("smsvoice", "0001_initial"),
    ]

    operations: list = [
        migrations.CreateModel(
            name="TextingRegistration",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("business", models.JSONField(blank=True, default=dict)),
                ("campaign", models.JSONField(blank=True, default=dict)),
                ("tollfree", models.JSONField(blank=True, default=dict)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "organization",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="texting_registration",
                        to="smsvoice.organization",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="RegistrationStep",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("profile", "Business profile (Trust Hub)"),
                            ("brand", "Brand"),
                            ("campaign", "Campaign"),
                            ("tollfree", "Toll-free verification"),
                        ],
                        max_length=10,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "Draft"),
                            ("submitted", "Submitted"),
                            ("in_review", "In review"),
                            ("approved", "Approved"),
                            ("failed", "Failed"),
                        ],
                        default="draft",
                        max_length=10,
                    ),
                ),
                ("provider_sid", models.CharField(blank=True, max_length=64)),
                ("provider_ids", models.JSONField(blank=True, default=dict)),
                ("provider_status", models.CharField(blank=True, max_length=40)),
                ("error_code", models.PositiveIntegerField(blank=True, null=True)),
                ("error_text", models.TextField(blank=True)),
                ("fee_cents", models.PositiveIntegerField(default=0)),
                ("submitted_at", models.DateTimeField(blank=True, null=True)),
                ("status_changed_at", models.DateTimeField(blank=True, null=True)),
                ("checked_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to="smsvoice.organization"
                    ),
                ),
            ],
            options={
                "ordering": ["organization", "id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("status__in", ["submitted", "in_review"])),
                        fields=["status"],
                        name="registration_step_pending",
                    ),
                    models.Index(fields=["provider_sid"], name="registration_step_sid"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("organization", "kind"), name="one_step_per_kind"
                    )
                ],
            },
        ),
    ]
