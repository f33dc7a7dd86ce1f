"""The scheduled refresh of texting registrations (beat: ``registration-refresh``).

Twilio offers a status callback only for Trust Hub bundles; brands, campaigns and toll-free
verifications are asked about on this schedule. The service holds the lock.
"""

from __future__ import annotations

from celery import shared_task

from broadcasts.registration import services


@shared_task
def registrations_refresh() -> dict[str, int]:
    return services.registrations_refresh()
