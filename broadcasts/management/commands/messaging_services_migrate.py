"""Give every organization with a sending number its Messaging Service (safe to run twice)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from broadcasts.messaging_services import messaging_services_migrate


class Command(BaseCommand):
    help = (
        "Create the Messaging Service of every organization that has a sending number and put "
        "the number in its sender pool; finish numbers left to release. Idempotent: what is "
        "done already is not asked of Twilio again."
    )

    def handle(self, *args, **options) -> None:
        counts = messaging_services_migrate()
        self.stdout.write(
            f"{counts['organizations']} organizations: {counts['ready']} ready, "
            f"{counts['failed']} failed (run again to retry those)."
        )
        if counts["failed"]:
            self.stderr.write("Some services failed; their error is on the SMS & Voice page.")
