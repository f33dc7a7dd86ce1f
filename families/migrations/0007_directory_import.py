"""Issue 14: CSV imports and their remembered column mappings."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("families", "0006_external_ids")]

    operations: list = []
