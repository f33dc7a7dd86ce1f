"""Issue 13: conversations (two-way messenger).

The replies received before conversations existed are grouped into conversations too, one
per (organization, number), as Open with nothing unread: they were logged, nobody was asked
to read them, and the unread count should not start at hundreds on the day of the upgrade.
"""

import django.db.models.deletion
from django.db import migrations, models


def conversations_from_inbound(apps, schema_editor):
    InboundMessage = apps.get_model("broadcasts", "InboundMessage")
    Conversation = apps.get_model("broadcasts", "Conversation")
    ConversationInbound = apps.get_model("broadcasts", "ConversationInbound")
    by_number = {}
    messages = InboundMessage.objects.filter(organization__isnull=False).order_by(
        "received_at", "id"
    )
    for message in messages.iterator(chunk_size=2000):
        key = (message.organization_id, message.from_e164)
        conversation = by_number.get(key)
        if conversation is None:
            conversation = by_number[key] = Conversation.objects.create(
                organization_id=message.organization_id,
                e164=message.from_e164,
                status="open",
                last_activity_at=message.received_at,
                digested_at=message.received_at,
            )
        conversation.last_activity_at = conversation.last_inbound_at = message.received_at
        conversation.last_text = (message.body.strip().splitlines() or [""])[0][:160]
        ConversationInbound.objects.create(conversation=conversation, inbound=message)
    for conversation in by_number.values():
        conversation.save(update_fields=["last_activity_at", "last_inbound_at", "last_text"])


class Migration(migrations.Migration):
    dependencies = [
        ("broadcasts", "0009_texting_registration"),
        ("smsvoice", "0003_staff_permissions"),
    ]

    operations = [
        migrations.CreateModel(
            name="Conversation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("e164", models.CharField(max_length=16)),
                (
                    "status",
                    models.CharField(
                        choices=[("unread", "Unread"), ("open", "Open"), ("closed", "Closed")],
                        default="unread",
                        max_length=8,
                    ),
                ),
                ("unread_count", models.PositiveIntegerField(default=0)),
                ("last_text", models.CharField(blank=True, max_length=160)),
                ("last_activity_at", models.DateTimeField()),
                ("last_inbound_at", models.DateTimeField(blank=True, null=True)),
                ("read_at", models.DateTimeField(blank=True, null=True)),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
                ("digested_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "assignee",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="smsvoice.staffmember",
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to="smsvoice.organization"
                    ),
                ),
                (
                    "read_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="smsvoice.staffmember",
                    ),
                ),
            ],
            options={"ordering": ["-last_activity_at", "-id"]},
        ),
        migrations.CreateModel(
            name="ConversationInbound",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("answer", models.TextField(blank=True)),
                (
                    "conversation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="inbound_links",
                        to="broadcasts.conversation",
                    ),
                ),
                (
                    "inbound",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="conversation_link",
                        to="broadcasts.inboundmessage",
                    ),
                ),
            ],
            options={"ordering": ["id"]},
        ),
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(
                fields=["organization", "-last_activity_at"], name="conversation_activity"
            ),
        ),
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(
                condition=models.Q(("status", "unread")),
                fields=["organization"],
                name="conversation_unread",
            ),
        ),
        migrations.AddConstraint(
            model_name="conversation",
            constraint=models.UniqueConstraint(
                fields=("organization", "e164"), name="conversation_one_per_number"
            ),
        ),
        migrations.RunPython(conversations_from_inbound, migrations.RunPython.noop),
    ]
