"""Issue 11: A2P 10DLC brand and campaign, toll-free verification."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("broadcasts", "0008_messaging_service")]

    operations: list = []
