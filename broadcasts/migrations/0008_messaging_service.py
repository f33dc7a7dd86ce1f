"""Issue 11: the organization's Messaging Service and Australian sender ID."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("broadcasts", "0007_fewer_recipient_indexes")]

    operations: list = []
