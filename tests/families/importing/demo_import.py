"""Run by test_import_in_the_demo: an import on the embedded demo's settings (SQLite, tasks
in-process), from upload to done, printing what it did as JSON."""

import json
import sys

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402

from families.importing import apply, mapping  # noqa: E402
from families.importing.parse import parse_text  # noqa: E402
from families.importing.plan import Config  # noqa: E402
from families.models import Family, PhoneField, Student  # noqa: E402
from smsvoice.models import Organization, StaffMember  # noqa: E402

path = sys.argv[1]
organization = Organization.objects.create(name="Demo import gym")
for order, label in enumerate(["Mother cell", "Father cell", "Home"], start=1):
    PhoneField.objects.create(organization=organization, label=label, order=order)
user = django.contrib.auth.get_user_model().objects.create(username="owner@demo.test")
StaffMember.objects.create(organization=organization, user=user, first_name="O", role="admin")
with open(path, "rb") as file:
    imported = apply.import_create(
        organization=organization,
        actor=user,
        actor_label="O (admin)",
        file_name="demo.csv",
        data=file.read(),
    )
columns = mapping.guess_mapping(parse_text(imported.content).headers, organization=organization)
with transaction.atomic():  # the check runs in-process when this commits
    apply.import_check_start(directory_import=imported, config=Config(columns=columns))
imported.refresh_from_db()
assert imported.status == "previewed", imported.status
with transaction.atomic():
    apply.import_start(directory_import=imported, actor=user, actor_label="O (admin)")
imported.refresh_from_db()
print(
    json.dumps(
        {
            "engine": settings.DATABASES["default"]["ENGINE"],
            "eager": settings.CELERY_TASK_ALWAYS_EAGER,
            "status": imported.status,
            "families": Family.objects.for_org(organization).count(),
            "students": Student.objects.for_org(organization).count(),
            "lines": imported.report_lines.count(),
        }
    )
)
