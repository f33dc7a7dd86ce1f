"""Issue 12: header, footer, signup message, HELP and STOP replies."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def options_create(apps, schema_editor):
    """Every existing organization gets its options; in Canada and Australia with the footer
    the law needs (the sender's name and how to opt out), as ``message_options_for`` does."""
    Organization = apps.get_model("smsvoice", "Organization")
    MessageOptions = apps.get_model("smsvoice", "MessageOptions")
    for org in Organization.objects.filter(message_options__isnull=True):
        footer = ""
        if org.country in ("CA", "AU"):
            footer = f"{_short_name(org.name.strip(), 50 - len(OPT_OUT))}{OPT_OUT}"
        MessageOptions.objects.create(organization=org, footer=footer)


OPT_OUT = ": Reply STOP to opt out"


def _short_name(name, room):
    """As broadcasts.sms.ctia.short_name: cut at a word to fit (frozen here)."""
    if len(name) <= room:
        return name
    cut = name[:room].rsplit(" ", 1)[0]
    return cut if len(cut) >= 10 else name[:room]


class Migration(migrations.Migration):
    dependencies = [
        ("smsvoice", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="mailing_address",
            field=models.TextField(blank=True, max_length=300),
        ),
        migrations.CreateModel(
            name="MessageOptions",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("header", models.CharField(blank=True, max_length=50)),
                ("footer", models.CharField(blank=True, max_length=50)),
                ("signup_message", models.CharField(blank=True, max_length=160)),
                ("purpose", models.CharField(blank=True, default="class updates and closures", max_length=80)),
                ("help_reply", models.CharField(blank=True, max_length=320)),
                ("stop_reply", models.CharField(blank=True, max_length=320)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("organization", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="message_options", to="smsvoice.organization")),
                ("updated_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={"verbose_name_plural": "message options"},
        ),
        migrations.RunPython(options_create, migrations.RunPython.noop),
    ]
