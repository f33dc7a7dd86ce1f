"""Issue 13: conversations (two-way messenger)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("broadcasts", "0009_texting_registration")]

    operations: list = []
