"""Thin tasks that take ids; each calls one service. Retries of provider errors are per
recipient (pending with a next attempt time), so a task itself never resends anything.

The engine enqueues these by name (``broadcasts.engine.queue.task``), so no service module
imports this one and this one imports only services: no import circle."""

from celery import shared_task

from broadcasts.engine import queue, run, sweep
from broadcasts.voice import dial, recording


@shared_task(acks_late=True)
def broadcast_dispatch(broadcast_id: int) -> dict[str, int]:
    return queue.broadcast_dispatch(broadcast_id=broadcast_id)


@shared_task(acks_late=True)
def sender_run(sender: str, at: float | None = None) -> dict[str, int]:
    """One slice of a sender's work (broadcasts.engine.run); booked by queue.sender_wake."""
    return run.sender_run(sender=sender, at=at)


@shared_task(acks_late=True)
def recipients_send(broadcast_id: int, recipient_ids: list[int]) -> dict[str, int]:
    """A batch task of the engine before v2, still queued when a worker is upgraded: its
    recipients wait in PostgreSQL like any others, so waking their sender is enough."""
    return queue.broadcast_wake(broadcast_id=broadcast_id)


@shared_task
def broadcasts_sweep() -> dict[str, int]:
    return sweep.broadcasts_sweep()


@shared_task
def messaging_services_sweep() -> dict[str, int]:
    """Finish Messaging Service set-ups and number releases that a Twilio failure left."""
    from broadcasts.messaging_services import messaging_services_sweep as finish

    return finish()


# --- voice broadcasts ---


@shared_task(acks_late=True)
def voice_broadcast_send(broadcast_id: int) -> str:
    return recording.voice_broadcast_send(broadcast_id=broadcast_id).status


@shared_task
def voice_sweep() -> dict[str, int]:
    return dial.voice_sweep()
