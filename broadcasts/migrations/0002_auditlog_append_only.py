from django.db import migrations

from smsvoice.db import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("broadcasts", "0001_initial")]

    operations = [
        append_only_trigger(
            "broadcasts_auditlogentry",
            detachable=("sender_id", "family_id", "student_id", "staff_member_id"),
        )
    ]
