"""Conversation tasks (listed in CELERY_IMPORTS): the hourly digest, a thin call."""

from celery import shared_task

from broadcasts.conversations import digest


@shared_task
def conversations_digest() -> dict[str, int]:
    return digest.conversations_digest()
