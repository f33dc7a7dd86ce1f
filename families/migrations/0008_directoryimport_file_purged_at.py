"""Imports' files are removed after IMPORT_FILE_RETENTION_DAYS: when it was done."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("families", "0007_directory_import"),
    ]

    operations = [
        migrations.AddField(
            model_name="directoryimport",
            name="file_purged_at",
            field=models.DateTimeField(
                blank=True, help_text="When the file's text was removed (retention).", null=True
            ),
        ),
    ]
