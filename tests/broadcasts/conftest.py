"""Fixtures for talking to Twilio without Twilio: the local stand-in, and Prism for the contract.

`twilio_standin` — a fresh TwilioStandin on a free loopback port for each test, with settings
pointed at it (TWILIO_API_BASE, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, SMS_BACKEND="twilio")
and the gateway's cached client reset on the way in and out.

`prism_twilio` — for the whole session, Prism serving Twilio's own OpenAPI description with
--errors (any request the description does not allow gets a 422); yields its base URL.
`prism_for(spec_name)` — the same for any description of ../shared/twilio/ (messaging,
trusthub…): call it with the file name, get the base URL. Prism is
installed into .prism/ on first use. Without npm the contract test is skipped with the reason,
or fails when CI is set: it must not silently stop running.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from broadcasts.providers.twilio import reset_client
from tests.twilio_standin import CallbackSink, TwilioStandin, point_settings_at

REPO_ROOT = Path(__file__).resolve().parents[2]
TWILIO_SPEC = REPO_ROOT.parent / "shared" / "twilio" / "twilio_api_v2010.json"
PRISM_DIR = REPO_ROOT / ".prism"
PRISM_BIN = PRISM_DIR / "node_modules" / ".bin" / "prism"
PRISM_PACKAGE = "@stoplight/prism-cli@5.14.2"
PRISM_START_TIMEOUT = 90  # seconds; it takes about 15 to load Twilio's 1.8 MB description

STANDIN_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
STANDIN_AUTH_TOKEN = "standin-test-auth-token"


@pytest.fixture
def twilio_standin(settings) -> Iterator[TwilioStandin]:
    with TwilioStandin(account_sid=STANDIN_ACCOUNT_SID, auth_token=STANDIN_AUTH_TOKEN) as standin:
        settings.TWILIO_ACCOUNT_SID = STANDIN_ACCOUNT_SID
        settings.TWILIO_AUTH_TOKEN = STANDIN_AUTH_TOKEN
        point_settings_at(settings, standin.base_url)
        settings.SMS_BACKEND = "twilio"
        reset_client()
        yield standin
        reset_client()


@pytest.fixture
def callback_sink() -> Iterator[CallbackSink]:
    """Somewhere for the stand-in's status callbacks to land when no Django server is up."""
    with CallbackSink() as sink:
        yield sink


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _prism_installed() -> Path:
    if PRISM_BIN.exists():
        return PRISM_BIN
    npm = shutil.which("npm")
    if npm is None:
        reason = (
            "the Twilio contract test needs Prism, installed with npm, and npm is not on PATH "
            "(Debian: apt-get install nodejs npm; Node 20)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    PRISM_DIR.mkdir(exist_ok=True)
    # Several test runs share the working tree: one installs, the others wait for it.
    with open(PRISM_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not PRISM_BIN.exists():
            done = subprocess.run(
                [
                    npm,
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                    str(PRISM_DIR),
                    PRISM_PACKAGE,
                ],
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0 or not PRISM_BIN.exists():
                pytest.fail(f"npm install {PRISM_PACKAGE} failed:\n{done.stdout}\n{done.stderr}")
    return PRISM_BIN


def _wait_until_listening(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + PRISM_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Prism exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            requests.get(url, timeout=1)
            return  # any HTTP answer (404 for /) means it is serving
        except requests.ConnectionError:
            time.sleep(0.25)
    pytest.fail(f"Prism did not answer within {PRISM_START_TIMEOUT}s:\n{log.read_text()[-3000:]}")


def _prism_start(spec: Path, tmp_path_factory) -> tuple[str, subprocess.Popen]:
    if not spec.is_file():
        pytest.fail(
            f"Twilio's OpenAPI description is missing: expected {spec} "
            "(see ../shared/twilio/README.md)"
        )
    prism = _prism_installed()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [str(prism), "mock", "-h", "127.0.0.1", "-p", str(port), "--errors", str(spec)],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            start_new_session=True,
        )
    try:
        _wait_until_listening(process, base_url, log)
    except BaseException:
        _stop(process)
        raise
    return base_url, process


@pytest.fixture(scope="session")
def prism_for(tmp_path_factory) -> Iterator:
    """`prism_for("twilio_messaging_v1.json")` -> the base URL of a Prism serving that file of
    ../shared/twilio/ (each description started once per session, on first use)."""
    started: dict[str, tuple[str, subprocess.Popen]] = {}

    def base_url(spec_name: str) -> str:
        if spec_name not in started:
            started[spec_name] = _prism_start(TWILIO_SPEC.parent / spec_name, tmp_path_factory)
        return started[spec_name][0]

    try:
        yield base_url
    finally:
        for _, process in started.values():
            _stop(process)


@pytest.fixture(scope="session")
def prism_twilio(prism_for) -> str:
    return prism_for(TWILIO_SPEC.name)


def _stop(process: subprocess.Popen) -> None:
    # Prism was started in a session of its own: its group is exactly what we started.
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
