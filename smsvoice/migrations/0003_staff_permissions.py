"""Issue 13: per-staff permissions: send texts, view text logs."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("smsvoice", "0002_message_options")]

    operations: list = []
