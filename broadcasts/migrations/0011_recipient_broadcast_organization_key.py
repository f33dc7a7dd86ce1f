"""A recipient's broadcast and organization are one foreign key, (broadcast_id,
organization_id) → the broadcast's (id, organization_id), on PostgreSQL: the organization must
be its broadcast's, and each row written is checked once at commit instead of twice. The
student and staff member indexes cover only the rows that have one (a family broadcast's
rows have none); the organization's index becomes (organization, e164).

Existing rows are kept; adding the key checks them (a recipient filed under another
organization than its broadcast's would stop the migration: there should be none).
"""

import django.db.models.deletion
from django.db import migrations, models

from smsvoice.db import composite_foreign_key


class Migration(migrations.Migration):
    dependencies = [
        ("broadcasts", "0010_conversations"),
        ("families", "0008_directoryimport_file_purged_at"),
        ("smsvoice", "0004_api_keys"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="broadcast",
            constraint=models.UniqueConstraint(
                fields=("id", "organization"), name="broadcast_organization"
            ),
        ),
        migrations.AddIndex(
            model_name="recipient",
            index=models.Index(fields=["organization", "e164"], name="recipient_org_number"),
        ),
        migrations.AddIndex(
            model_name="recipient",
            index=models.Index(
                condition=models.Q(("student__isnull", False)),
                fields=["student"],
                name="recipient_student",
            ),
        ),
        migrations.AddIndex(
            model_name="recipient",
            index=models.Index(
                condition=models.Q(("staff_member__isnull", False)),
                fields=["staff_member"],
                name="recipient_staff_member",
            ),
        ),
        migrations.AlterField(
            model_name="recipient",
            name="broadcast",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="recipients",
                to="broadcasts.broadcast",
            ),
        ),
        migrations.AlterField(
            model_name="recipient",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                to="smsvoice.organization",
            ),
        ),
        migrations.AlterField(
            model_name="recipient",
            name="staff_member",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                to="smsvoice.staffmember",
            ),
        ),
        migrations.AlterField(
            model_name="recipient",
            name="student",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                to="families.student",
            ),
        ),
        composite_foreign_key(
            "broadcasts_recipient",
            ("broadcast_id", "organization_id"),
            "broadcasts_broadcast",
            ("id", "organization_id"),
            name="recipient_broadcast_organization_fk",
        ),
    ]
