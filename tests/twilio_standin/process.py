"""The stand-in in a child process, for benchmarks: it then has a core (and a GIL) of its own.

with standin_process(latency=0.1, callbacks=False) as base_url:
    ...drive base_url...; standin_stats(base_url) -> {"requests": ..., "max_in_flight": ...}
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.twilio_standin.server import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

REPO_ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def standin_process(
    *,
    latency: float = 0.1,
    callbacks: bool = True,
    callback_delay: float = 0.05,
    final_callbacks_only: bool = False,
    account_sid: str = DEFAULT_ACCOUNT_SID,
    auth_token: str = DEFAULT_AUTH_TOKEN,
) -> Iterator[str]:
    """Start `python -m tests.twilio_standin`, yield its base URL, stop it on the way out."""
    command = [
        sys.executable,
        "-m",
        "tests.twilio_standin",
        f"--latency={latency}",
        f"--callback-delay={callback_delay}",
        f"--account-sid={account_sid}",
        f"--auth-token={auth_token}",
    ]
    if not callbacks:
        command.append("--no-callbacks")
    if final_callbacks_only:
        command.append("--final-callbacks-only")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("base_url="):
            raise RuntimeError(f"the stand-in did not start (said {line!r})")
        yield line.removeprefix("base_url=")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def standin_stats(base_url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{base_url}/_standin/stats", timeout=10) as response:
        return json.load(response)
