"""Serve the stand-in in a process of its own: `python -m tests.twilio_standin --latency 0.1`.

Benchmarks run it this way so that it does not share a core (and a GIL) with the client it
measures. It prints one line, `base_url=http://127.0.0.1:PORT`, then serves until stopped;
GET /_standin/stats tells how many requests, messages and callbacks it has seen; the rest of
/_standin/ (accepted log, windows, duplicates, injected failures, Messaging Services, reset) is
driven by tests.twilio_standin.process.StandinClient.
"""

from __future__ import annotations

import argparse
import signal
import threading

from tests.twilio_standin.server import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, TwilioStandin


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.twilio_standin")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    parser.add_argument("--no-callbacks", action="store_true")
    parser.add_argument("--callback-delay", type=float, default=0.05)
    parser.add_argument(
        "--final-callbacks-only", action="store_true", help="no 'sent' callbacks, only the last"
    )
    parser.add_argument(
        "--no-request-log",
        action="store_true",
        help="count requests without keeping each one (long benchmarks)",
    )
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    standin = TwilioStandin(
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        latency=args.latency,
        callbacks=not args.no_callbacks,
        callback_delay=args.callback_delay,
        final_callbacks_only=args.final_callbacks_only,
        keep_requests=not args.no_request_log,
        port=args.port,
    )
    with standin:
        print(f"base_url={standin.base_url}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
