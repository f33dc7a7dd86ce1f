"""`make run`'s embedded demo (SQLite, no broker: tasks run in-process) imports a file from
upload to done, in a fresh process on a fresh SQLite database."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.families.importing.helpers import FILES

BASE_DIR = Path(__file__).resolve().parents[3]


def test_an_import_runs_in_process_on_the_demos_sqlite(tmp_path):
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        CELERY_BROKER_URL="",  # no broker: the demo's in-process tasks
        DJANGO_SETTINGS_MODULE="smsvoice.settings",
        PYTHONPATH=str(BASE_DIR),
    )

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *args],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    migrated = run("manage.py", "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    script = Path(__file__).with_name("demo_import.py")
    result = run(str(script), str(FILES / "students_excel_utf16.csv"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "engine": "django.db.backends.sqlite3",
        "eager": True,
        "status": "done",
        "families": 2,
        "students": 6,
        "lines": 6,
    }
