"""Issue 12: header, footer, signup message, HELP and STOP replies."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("smsvoice", "0001_initial")]

    operations: list = []
