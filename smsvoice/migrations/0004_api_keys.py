"""Issue 14: API keys."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("smsvoice", "0003_staff_permissions")]

    operations: list = []
