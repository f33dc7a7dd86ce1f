"""The process's event loop for provider requests, on a thread of its own.

Sending is I/O-bound: a worker process keeps hundreds of requests in flight on one event loop
(the twilio SDK's aiohttp client), while its main thread claims, records and renews leases in
the database. The loop thread never touches the database; it hands each result back through
a queue as it comes. One loop per process, started on first use (after a fork, the child
starts its own), so connections to the provider are reused from slice to slice.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any

_lock = threading.Lock()
_loop: tuple[int, asyncio.AbstractEventLoop] | None = None


def _running_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop[0] != os.getpid():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="engine-loop", daemon=True)
            thread.start()
            _loop = (os.getpid(), loop)
        return _loop[1]


def submit(coroutine: Coroutine[Any, Any, Any]) -> Future:
    """Run ``coroutine`` on the process's sending loop; returns a concurrent Future."""
    return asyncio.run_coroutine_threadsafe(coroutine, _running_loop())
