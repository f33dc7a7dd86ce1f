"""Issue 14: external ids for upserts from another system."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("families", "0005_consent_rules")]

    operations: list = []
