from django.apps import AppConfig


class CreditsConfig(AppConfig):
    name = "credits"
    verbose_name = "Credits and payments"

    def ready(self) -> None:
        # The services find their tasks by name in Celery's registry (web processes too).
        from credits import tasks  # noqa: F401
