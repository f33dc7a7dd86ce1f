"""Issue 13: per-staff permissions: send texts, view text logs; the conversation digest opt-in.

Existing staff keep both permissions (the fields are added with True on every row), so
nobody loses what they could do before; admins have both whatever the fields say.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("smsvoice", "0002_message_options")]

    operations = [
        migrations.AddField(
            model_name="staffmember",
            name="can_send_texts",
            field=models.BooleanField(default=True, verbose_name="Can send texts"),
        ),
        migrations.AddField(
            model_name="staffmember",
            name="can_view_text_logs",
            field=models.BooleanField(default=True, verbose_name="Can view text logs"),
        ),
        migrations.AddField(
            model_name="staffmember",
            name="conversation_digest",
            field=models.BooleanField(default=False),
        ),
    ]
