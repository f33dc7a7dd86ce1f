"""The stand-in in a child process, for benchmarks and the tests that time what it accepts: it
then has a core (and a GIL and a garbage collector) of its own.

with standin_process(latency=0.1, callbacks=False) as base_url:
    ...drive base_url...; standin_stats(base_url) -> {"requests": ..., "max_in_flight": ...}
    standin = StandinClient(base_url)
    standin.fail_randomly({429: 0.3, 503: 0.1}); standin.messaging_service("MG…", [...])
    standin.accepted(), standin.max_in_window(seconds=1.0, from_="+1…"), standin.duplicates()
    standin.configure(latency=0.05, callbacks=True); standin.call_as("+1…", final_status="busy")
    standin.requests(), standin.calls()

StandinClient offers over HTTP what TwilioStandin offers in-process, with the same names (what
is a property there, `accepted`, `requests`, `calls`, is a method here: each is a request). Its
accept times are time.monotonic() of the stand-in's process, which on Linux is the same clock
as the caller's.
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
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from tests.twilio_standin.server import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, AcceptedMessage

REPO_ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def standin_process(
    *,
    latency: float = 0.1,
    callbacks: bool = True,
    callback_delay: float = 0.05,
    final_callbacks_only: bool = False,
    keep_requests: bool = True,
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
    if not keep_requests:
        command.append("--no-request-log")
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
    return StandinClient(base_url).stats()


class StandinClient:
    """A stand-in in another process, steered and read over its /_standin/ endpoints."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def stats(self) -> dict[str, int]:
        """requests, messages, accepted, duplicates, callbacks…, in_flight, max_in_flight, pid."""
        return self._get("stats")

    def accepted(self, *, since: int = 0) -> list[AcceptedMessage]:
        """The accepted log from position `since` on (0: all of it), in the order accepted."""
        data = self._get("accepted", since=since)
        return [AcceptedMessage.from_json(entry) for entry in data["accepted"]]

    def max_in_window(self, *, seconds: float = 1.0, from_: str | None = None) -> int:
        params: dict[str, Any] = {"seconds": seconds}
        if from_ is not None:
            params["from"] = from_
        return self._get("max_in_window", **params)["max_in_window"]

    def duplicates(self) -> int:
        """How many (To, Body) were accepted more than once."""
        return self._get("duplicates")["duplicates"]

    def duplicate_counts(self) -> dict[tuple[str, str], int]:
        """(To, Body) accepted more than once -> how many times (the first 1,000 of them)."""
        return {(to, body): n for to, body, n in self._get("duplicates")["pairs"]}

    def fail_next(self, *, status: int = 429, count: int = 1, retry_after: float | None = None):
        self._post("fail_next", {"status": status, "count": count, "retry_after": retry_after})

    def fail_randomly(
        self, rates: dict[int, float], *, retry_after: float | None = None, seed: int | None = None
    ) -> None:
        body = {"rates": {str(k): v for k, v in rates.items()}, "retry_after": retry_after}
        self._post("fail_randomly", {**body, "seed": seed})

    def messaging_service(self, sid: str, numbers: list[str]) -> None:
        self._post("messaging_services", {"sid": sid, "numbers": numbers})

    def reset(self) -> None:
        self._post("reset", {})

    def configure(self, *, latency: float | None = None, callbacks: bool | None = None) -> None:
        """Change the latency of every request and turn status callbacks on or off."""
        changes = {"latency": latency, "callbacks": callbacks}
        self._post("configure", {k: v for k, v in changes.items() if v is not None})

    def call_as(self, e164: str, **outcome: Any) -> None:
        """Calls to `e164` end as TwilioStandin.call_as says (final_status, answered_by,
        duration); an outcome it refuses is refused here too (HTTP 400)."""
        self._post("call_as", {"e164": e164, **outcome})

    def requests(self) -> list[SimpleNamespace]:
        """Every request received: .method, .path, .monotonic, .form (oldest first)."""
        return [SimpleNamespace(**r) for r in self._get("requests")["requests"]]

    def calls(self) -> list[SimpleNamespace]:
        """Every call placed: .sid, .to, .from_, .created_at (time.time()), .status."""
        return [
            SimpleNamespace(**{("from_" if k == "from" else k): v for k, v in c.items()})
            for c in self._get("calls")["calls"]
        ]

    def _get(self, name: str, **params: Any) -> dict[str, Any]:
        query = f"?{urlencode(params)}" if params else ""
        url = f"{self.base_url}/_standin/{name}{query}"
        with urllib.request.urlopen(url, timeout=self.timeout) as response:
            return json.load(response)

    def _post(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.base_url}/_standin/{name}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.load(response)
