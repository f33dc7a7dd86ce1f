from django.apps import AppConfig


class FamiliesConfig(AppConfig):
    name = "families"
    verbose_name = "Families, students, phone numbers and consent"

    def ready(self) -> None:
        # The CSV import's task lives in a package, not in families/tasks.py: registering it
        # here lets the web process (and eager runs) enqueue it by name like the worker does.
        from families.importing import tasks  # noqa: F401
