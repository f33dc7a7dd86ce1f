"""The import's task: thin, takes the import's id, calls ``apply.import_run``. Celery finds it
by name (``smsvoice.celery`` discovers this package), so ``apply`` never imports it.

A redelivered or restarted task goes on from the first chunk not yet committed (see apply);
a task that fails leaves the import failed with its reason, and is not retried by itself."""

from celery import shared_task

from families.importing import apply


@shared_task(acks_late=True)
def directory_import_run(directory_import_id: int) -> dict[str, int]:
    return apply.import_run(directory_import_id=directory_import_id)
