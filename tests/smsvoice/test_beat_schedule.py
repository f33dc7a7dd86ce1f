"""The periodic jobs the design relies on are in the schedule that ``celery beat`` really loads.

Beat builds its schedule from the Celery app's ``conf.beat_schedule`` once the app has imported
its task modules (``app.loader.import_default_modules()``, which sets Django up): the same
``celery.beat.Scheduler`` is built here, in this process and in a fresh one started with an
ENGINE_SWEEP_SECONDS of its own, as a worker host would. (The SMS sweep was once missing from
the schedule while tests called it by hand, so stuck recipients stayed stuck in production.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from celery.beat import Scheduler
from django.conf import settings

from smsvoice.celery import app

ROOT = Path(__file__).resolve().parents[2]

# task name -> how often the design has it run (seconds); None: ENGINE_SWEEP_SECONDS.
EXPECTED = {
    "broadcasts.tasks.broadcasts_sweep": None,  # re-dispatch, reconcile expired leases, wake
    "broadcasts.tasks.voice_sweep": 60,  # dial outcomes and staff calls whose end never came
    "credits.tasks.monthly_fees_charge": 6 * 60 * 60,  # Australia's monthly fee
    "credits.tasks.purchases_sweep": 10 * 60,  # purchases whose task was lost
    "broadcasts.conversations.tasks.conversations_digest": 60 * 60,  # new conversations email
    # brands, campaigns, toll-free verifications: Twilio calls back for none of them
    "broadcasts.registration.tasks.registrations_refresh": 15 * 60,
    # imports' uploaded files past IMPORT_FILE_RETENTION_DAYS
    "families.importing.tasks.directory_import_files_purge": 24 * 60 * 60,
}

_SCHEDULE_AS_BEAT_LOADS_IT = """
import json
from celery.beat import Scheduler
from smsvoice.celery import app
app.loader.import_default_modules()
entries = Scheduler(app=app, lazy=False).schedule
print(json.dumps({
    name: {"task": e.task, "seconds": e.schedule.run_every.total_seconds(),
           "registered": e.task in app.tasks}
    for name, e in entries.items()
}))
"""


def beat_entries() -> dict:
    app.loader.import_default_modules()
    return Scheduler(app=app, lazy=False).schedule


def test_beat_loads_every_periodic_job_the_design_relies_on_with_its_interval():
    by_task = {entry.task: entry for entry in beat_entries().values()}
    for task, seconds in EXPECTED.items():
        assert task in by_task, f"{task} is not in the schedule beat loads"
        every = settings.ENGINE_SWEEP_SECONDS if seconds is None else seconds
        assert by_task[task].schedule.run_every == timedelta(seconds=every), task


def test_every_scheduled_task_name_resolves_to_a_registered_task():
    app.loader.import_default_modules()
    for name, entry in beat_entries().items():
        assert entry.task in app.tasks, f"beat entry {name!r} names unknown task {entry.task!r}"


def test_a_fresh_process_takes_the_sweep_interval_from_its_environment():
    """What a beat process started with ENGINE_SWEEP_SECONDS=7 would schedule."""
    env = {**os.environ, "ENGINE_SWEEP_SECONDS": "7", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _SCHEDULE_AS_BEAT_LOADS_IT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout.strip().splitlines()[-1])
    by_task = {e["task"]: e for e in entries.values()}
    assert set(EXPECTED) <= set(by_task)
    assert by_task["broadcasts.tasks.broadcasts_sweep"]["seconds"] == 7
    assert all(e["registered"] for e in entries.values()), entries
