from django.apps import AppConfig


class BroadcastsConfig(AppConfig):
    name = "broadcasts"
    verbose_name = "Broadcasts"

    def ready(self) -> None:
        # The channels register themselves with the engine when imported, and the services
        # find their tasks by name in Celery's registry (web processes too).
        from broadcasts import tasks  # noqa: F401
        from broadcasts.registration import tasks as registration_tasks  # noqa: F401
        from broadcasts.sms import send  # noqa: F401
        from broadcasts.voice import dial  # noqa: F401
