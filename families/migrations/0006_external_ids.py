"""Issue 14: external ids for upserts from another system."""

from django.db import migrations, models
from django.db.models import Q

HELP = "This row's id in another system (a class-management system, a spreadsheet)."


def _field() -> models.CharField:
    return models.CharField(blank=True, default="", help_text=HELP, max_length=100)


def _unique(model: str) -> migrations.AddConstraint:
    return migrations.AddConstraint(
        model_name=model,
        constraint=models.UniqueConstraint(
            condition=~Q(external_id=""),
            fields=("organization", "external_id"),
            name=f"{model}_unique_external_id",
        ),
    )


class Migration(migrations.Migration):
    dependencies = [("families", "0005_consent_rules")]

    operations = [
        migrations.AddField(model_name="family", name="external_id", field=_field()),
        migrations.AddField(model_name="guardian", name="external_id", field=_field()),
        migrations.AddField(model_name="student", name="external_id", field=_field()),
        _unique("family"),
        _unique("guardian"),
        _unique("student"),
        # Opt-ins through the write API are evidence of their own kind (with the basis stated).
        migrations.AlterField(
            model_name="consentevent",
            name="source",
            field=models.CharField(
                choices=[
                    ("portal", "Parent portal"),
                    ("staff_with_consent", "Staff, with the customer's consent"),
                    ("staff", "Staff"),
                    ("keyword", "Keyword reply"),
                    ("import", "Import"),
                    ("api", "API, with the consent basis stated"),
                    # issue 12's sources (0005 adds them; this list must keep them)
                    ("reply", "Reply in words"),
                    ("review", "Reply, confirmed by staff"),
                    ("carrier", "Carrier opt-out (Twilio 21610)"),
                ],
                max_length=20,
            ),
        ),
    ]
