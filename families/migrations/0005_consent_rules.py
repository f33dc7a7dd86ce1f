"""Issue 12: revocations in words kept for staff, the automatic replies, consent evidence
(the customer's own words on each event; sources reply, review and carrier)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

SOURCES = [
    ("portal", "Parent portal"),
    ("staff_with_consent", "Staff, with the customer's consent"),
    ("staff", "Staff"),
    ("keyword", "Keyword reply"),
    ("import", "Import"),
    ("api", "API, with the consent basis stated"),
    ("reply", "Reply in words"),
    ("review", "Reply, confirmed by staff"),
    ("carrier", "Carrier opt-out (Twilio 21610)"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("families", "0004_search_trigram_indexes"),
        ("broadcasts", "0001_initial"),
        ("smsvoice", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="consentevent",
            name="words",
            field=models.TextField(blank=True),
        ),
        migrations.AlterField(
            model_name="consentevent",
            name="source",
            field=models.CharField(choices=SOURCES, max_length=20),
        ),
        migrations.CreateModel(
            name="AutoReply",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("e164", models.CharField(max_length=16)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("help", "HELP answer"),
                            ("stop", "STOP confirmation"),
                            ("start", "START answer"),
                            ("revocation", "Revocation confirmation"),
                        ],
                        max_length=10,
                    ),
                ),
                ("text", models.TextField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "inbound",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="broadcasts.inboundmessage",
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to="smsvoice.organization"
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(
                        fields=["organization", "e164", "-created_at"],
                        name="families_au_organiz_106d1b_idx",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="RevocationReview",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("e164", models.CharField(max_length=16)),
                ("words", models.TextField()),
                ("rule", models.CharField(blank=True, max_length=120)),
                ("names_calls", models.BooleanField(default=False)),
                (
                    "verdict",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting for staff"),
                            ("opted_out", "Opted out (a revocation)"),
                            ("not_revocation", "Not a revocation"),
                        ],
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("decided_by_label", models.CharField(blank=True, max_length=150)),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "inbound",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="revocation_review",
                        to="broadcasts.inboundmessage",
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to="smsvoice.organization"
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(
                        fields=["organization", "verdict", "-created_at"],
                        name="families_re_organiz_0a4dd8_idx",
                    )
                ],
            },
        ),
    ]
