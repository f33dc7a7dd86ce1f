"""Settings come from the environment: real values pass the deployment checks, bad ones stop
the process at start with a message that names the variable.

Each case starts ``manage.py check`` in its own process, because settings are read once at
import and this test process already has its own.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
# Variables that would leak from the test run (or a developer's shell) into the checked process.
_CONFIG_NAMES = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "TEST_DATABASE_NAME",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "SMS_BACKEND",
    "STRIPE_SECRET_KEY",
    "PAYMENTS_BACKEND",
)


def production_env(**overrides: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CONFIG_NAMES}
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="sms.example.com",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/15",
        DJANGO_SETTINGS_MODULE="smsvoice.settings",
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_is_clean_with_real_values_and_debug_off():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_check_still_warns_when_a_real_weakness_is_configured():
    # The silenced preload advice must not hide other findings: no HSTS at all is reported.
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env=production_env(SECURE_HSTS_SECONDS="0"),
    )
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set when DEBUG is off"),
        ({"DATABASE_URL": "nonsense://x"}, "DATABASE_URL has no known database scheme"),
        ({"DATABASE_URL": "postgres://u@h:port/db"}, "DATABASE_URL is not a usable database"),
        ({"SECURE_HSTS_SECONDS": "a year"}, "SECURE_HSTS_SECONDS='a year' is not a whole number"),
        ({"SMS_BACKEND": "carrier-pigeon"}, "SMS_BACKEND='carrier-pigeon' must be one of"),
    ],
    ids=["debug", "blank-secret", "db-scheme", "db-port", "hsts-seconds", "sms-backend"],
)
def test_a_bad_value_stops_the_start_naming_the_variable(overrides, message):
    result = manage("check", env=production_env(**overrides))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


@pytest.mark.skipif(
    (BASE_DIR / ".env").exists(), reason="a local .env may supply SECRET_KEY on purpose"
)
def test_a_missing_secret_key_with_debug_off_stops_the_start():
    result = manage("check", env=production_env(SECRET_KEY=None))
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_the_demo_key_is_refused_when_debug_is_off():
    demo = "demo-only-secret-key-never-use-in-production-0123456789-abcdefghij"
    result = manage("check", env=production_env(SECRET_KEY=demo))
    assert result.returncode != 0
    assert "SECRET_KEY is the demo key" in result.stderr


@pytest.mark.skipif(
    (BASE_DIR / ".env").exists(), reason="a local .env changes the defaults on purpose"
)
def test_with_nothing_configured_the_embedded_demo_settings_load():
    env = production_env(**dict.fromkeys(_CONFIG_NAMES))
    env["DJANGO_SETTINGS_MODULE"] = "smsvoice.settings"
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, "
        "s.SMS_BACKEND, s.PAYMENTS_BACKEND, s.EMAIL_BACKEND)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "True",
        "django.db.backends.sqlite3",
        "True",
        "outbox",
        "outbox",
        "django.core.mail.backends.console.EmailBackend",
    ]


def test_a_blank_secret_key_with_debug_on_still_runs_the_demo():
    # A .env copied from .env.example but not filled in yet must not stop `make run`.
    result = manage("check", env=production_env(DEBUG="true", SECRET_KEY=""))
    assert result.returncode == 0, result.stderr


def _database_options(database_url: str) -> str:
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default'].get('OPTIONS', {}).get('options', ''))"
    )
    env = production_env(DEBUG="true", DATABASE_URL=database_url)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_postgresql_connections_run_without_jit_unless_the_url_says_otherwise():
    assert _database_options("postgres://postgres@127.0.0.1:5432/x") == "-c jit=off"
    chosen = "postgres://postgres@127.0.0.1:5432/x?options=-c%20jit%3Don"
    assert _database_options(chosen) == "-c jit=on"
