"""`make run PORT=N` serves on N with everything that must follow it, and the favicon is there."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

BASE_DIR = Path(__file__).resolve().parents[2]
_LEAKING = ("SITE_URL", "PORT", "LOCALSTRIPE_PORT", "STRIPE_SECRET_KEY", "DATABASE_URL", "DEBUG")


def _clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LEAKING}
    env.update(values)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_run_with_a_port_serves_there_and_moves_localstripe_beside_it():
    result = subprocess.run(
        ["make", "-n", "run", "PORT=8100"],
        cwd=BASE_DIR,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "runserver 127.0.0.1:8100" in result.stdout
    assert "PORT=8100 LOCALSTRIPE_PORT=8520" in result.stdout


def test_the_site_url_follows_the_port_unless_it_is_set(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings; print(settings.SITE_URL)"
    )

    def site_url(**values: str) -> str:
        env = _clean_env(DJANGO_SETTINGS_MODULE="smsvoice.settings", **values)
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert site_url() == "http://127.0.0.1:8000"
    assert site_url(PORT="8100") == "http://127.0.0.1:8100"
    assert site_url(PORT="8100", SITE_URL="https://sms.example.com/") == "https://sms.example.com"


def test_with_localstripe_registers_the_webhook_at_the_ports_address(tmp_path):
    stripe_port = _free_port()
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print('app', s.SITE_URL, s.STRIPE_API_BASE)"
    )
    result = subprocess.run(
        ["bin/with-localstripe", sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=_clean_env(
            DJANGO_SETTINGS_MODULE="smsvoice.settings",
            PORT="8100",
            LOCALSTRIPE_PORT=str(stripe_port),
            LOCALSTRIPE_STORE=str(tmp_path / "store.pickle"),
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "webhooks to http://127.0.0.1:8100" in result.stdout
    assert f"app http://127.0.0.1:8100 http://127.0.0.1:{stripe_port}" in result.stdout


@pytest.mark.django_db
def test_favicon_ico_is_served_at_the_root():
    response = Client().get("/favicon.ico")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file


@pytest.mark.django_db
def test_staff_and_portal_pages_link_the_svg_favicon(staff_client):
    for response in (staff_client.get("/families/"), Client().get("/portal/login/")):
        assert response.status_code == 200
        assert b'rel="icon" href="/static/favicon.svg"' in response.content
