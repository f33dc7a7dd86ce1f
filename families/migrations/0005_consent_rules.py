"""Issue 12: revocations in words kept for staff, policy address, consent evidence."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("families", "0004_search_trigram_indexes")]

    operations: list = []
