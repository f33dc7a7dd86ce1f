"""Issue 11: the organization's Messaging Service and Australian sender ID.

Existing organizations get their service from ``manage.py messaging_services_migrate`` (it
calls Twilio, which a migration must not); until then the readiness gate says what is missing.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("broadcasts", "0007_fewer_recipient_indexes"),
        ("smsvoice", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="sendingnumber",
            name="provider_cleanup",
            field=models.BooleanField(default=False),
        ),
        migrations.CreateModel(
            name="MessagingService",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sid", models.CharField(blank=True, max_length=64)),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("pending", "Being set up"),
                            ("ready", "Ready"),
                            ("failed", "Failed"),
                            ("local", "Local (demo)"),
                        ],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("last_error", models.TextField(blank=True)),
                ("create_attempted_at", models.DateTimeField(blank=True, null=True)),
                ("pool_number_sid", models.CharField(blank=True, max_length=64)),
                ("pool_e164", models.CharField(blank=True, max_length=16)),
                ("alpha_sender_id", models.CharField(blank=True, max_length=11)),
                ("alpha_sender_confirmed_at", models.DateTimeField(blank=True, null=True)),
                ("alpha_sender_confirmed_by", models.CharField(blank=True, max_length=150)),
                ("alpha_sender_sid", models.CharField(blank=True, max_length=64)),
                ("alpha_sender_error", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "organization",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messaging_service",
                        to="smsvoice.organization",
                    ),
                ),
            ],
        ),
    ]
