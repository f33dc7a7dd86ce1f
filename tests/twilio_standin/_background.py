"""An aiohttp application served from a thread of its own, with its own event loop.

Tests and benchmarks are synchronous; the servers they talk to must not be. One event loop in a
background thread keeps thousands of slow (latency-injected) requests in flight for the price of
a coroutine each, where a thread-per-request server would need a thread each.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, Self, TypeVar

from aiohttp import web

T = TypeVar("T")


class BackgroundServer:
    """Serve `self.build_app()` on host:port (port 0 picks a free one) until `stop()`."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def build_app(self) -> web.Application:
        raise NotImplementedError

    async def on_started(self) -> None:
        """Runs on the server's loop once it listens (subclasses open client sessions here)."""

    async def on_stopping(self) -> None:
        """Runs on the server's loop before it stops listening."""

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        self.run(self._listen(), timeout=15)
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        try:
            self.run(self._close(), timeout=15)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=15)
            self._loop.close()
            self._thread = None
            self._loop = None

    def run(self, coro: Coroutine[Any, Any, T], *, timeout: float | None = None) -> T:
        """Run a coroutine on the server's loop from any other thread and return its result."""
        if self._loop is None:
            coro.close()
            raise RuntimeError(f"{type(self).__name__} is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _listen(self) -> None:
        # No access log: at thousands of requests a second it would cost more than the handler.
        # Stopping does not wait long for requests still sleeping out their injected latency.
        self._runner = web.AppRunner(
            self.build_app(), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        # A deep accept backlog, so a burst of hundreds of new connections is not dropped
        # into SYN retransmits (a one-second stall that would look like server latency).
        site = web.TCPSite(self._runner, self.host, self.port, backlog=4096)
        await site.start()
        self.port = self._runner.addresses[0][1]
        await self.on_started()

    async def _close(self) -> None:
        await self.on_stopping()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
