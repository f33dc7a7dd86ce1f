"""Thin tasks that take ids; each calls one service. Retries of provider errors are per
recipient (pending with a next attempt time), so a task itself never resends a batch."""

from celery import shared_task

from broadcasts import services


@shared_task(acks_late=True)
def broadcast_dispatch(broadcast_id: int) -> dict[str, int]:
    return services.broadcast_dispatch(broadcast_id=broadcast_id)


@shared_task(acks_late=True)
def recipients_send(broadcast_id: int, recipient_ids: list[int]) -> dict[str, int]:
    return services.recipients_send(broadcast_id=broadcast_id, recipient_ids=recipient_ids)


@shared_task
def broadcasts_sweep() -> dict[str, int]:
    return services.broadcasts_sweep()


# --- voice broadcasts ---


@shared_task(acks_late=True)
def voice_broadcast_send(broadcast_id: int) -> str:
    from broadcasts import voice

    return voice.voice_broadcast_send(broadcast_id=broadcast_id).status


@shared_task
def voice_sweep() -> dict[str, int]:
    from broadcasts import voice_dial

    return voice_dial.voice_sweep()
