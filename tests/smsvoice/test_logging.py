"""A refused request (403) is one line in the log, not a traceback printed twice."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import FamilyFactory, GuardianFactory, UserFactory

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_a_403_is_logged_without_a_traceback(client, org, caplog):
    guardian = GuardianFactory(family=FamilyFactory(organization=org), user=UserFactory())
    client.force_login(guardian.user)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get(reverse("families:family_list")).status_code == 403
    forbidden = [r for r in caplog.records if r.name == "django.request"]
    assert len(forbidden) == 1
    assert forbidden[0].getMessage() == "Forbidden (Permission denied): /families/"
    assert forbidden[0].exc_info is None
    assert "Traceback" not in caplog.text


def test_a_403_prints_one_line_on_the_servers_console():
    # The settings' own handlers, in a fresh process: Django's default "django" console handler
    # used to print every record a second time next to root's.
    code = (
        "import django; django.setup()\n"
        "from django.core.exceptions import PermissionDenied\n"
        "from django.test import RequestFactory\n"
        "from django.core.handlers.exception import response_for_exception\n"
        "request = RequestFactory().get('/settings/')\n"
        "import sys; print('--- the request ---', file=sys.stderr, flush=True)\n"
        "response_for_exception(request, PermissionDenied('Only an admin can do this.'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "LOG_LEVEL")}
    env.update(DJANGO_SETTINGS_MODULE="smsvoice.settings", DEBUG="true")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.split("--- the request ---\n", 1)[1].strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "WARNING django.request Forbidden (Permission denied): /settings/" in lines[0]


def test_a_500_still_logs_its_traceback(caplog):
    from smsvoice.logs import ClientErrorsOnOneLine

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("django.request", logging.ERROR, "", 0, "x", (), sys.exc_info())
    record.status_code = 500
    assert ClientErrorsOnOneLine().filter(record) and record.exc_info is not None
