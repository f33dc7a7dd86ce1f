from django.db import migrations

from smsvoice.db import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("credits", "0001_initial")]

    operations = [append_only_trigger("credits_ledgerentry", detachable=("actor_id",))]
