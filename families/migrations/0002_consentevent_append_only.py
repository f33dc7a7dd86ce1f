from django.db import migrations

from smsvoice.db import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("families", "0001_initial")]

    operations = [append_only_trigger("families_consentevent", detachable=("phone_number_id",))]
