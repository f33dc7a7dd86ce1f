"""The import's tasks: thin, they take the import's id and call ``apply.import_check`` (the
preview) or ``apply.import_run`` (the import); and the daily removal of the files kept long
enough (``retention.import_files_purge``, in CELERY_BEAT_SCHEDULE). ``apply`` enqueues them by
name (the families app registers this module when it is ready), so it never imports this
module.

A redelivered or restarted import goes on from the first chunk not yet committed (see apply);
a task that fails leaves the import failed (or the check back at mapping) with its reason,
and is not retried by itself."""

from celery import shared_task

from families.importing import apply, retention


@shared_task(acks_late=True)
def directory_import_run(directory_import_id: int) -> dict[str, int]:
    return apply.import_run(directory_import_id=directory_import_id)


@shared_task(acks_late=True)
def directory_import_check(directory_import_id: int) -> str:
    """The preview of an import, computed off the request."""
    return apply.import_check(directory_import_id=directory_import_id)


@shared_task
def directory_import_files_purge() -> dict[str, int]:
    """Daily: the files of imports finished (or never imported) IMPORT_FILE_RETENTION_DAYS
    ago are removed; their counts and report lines stay."""
    return retention.import_files_purge()
