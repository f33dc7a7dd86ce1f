import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsvoice.settings")

app = Celery("smsvoice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Packages whose tasks module is not an app's own tasks.py.
app.autodiscover_tasks(["families.importing"])
