"""A webhook receiver for the stand-in's status callbacks when no Django server is involved.

It answers 200 to every POST and records what arrived (path, form, headers), so a test or a
benchmark can check what a real webhook would have been given and verify its signature.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from aiohttp import web

from tests.twilio_standin._background import BackgroundServer


@dataclass(frozen=True, slots=True)
class ReceivedWebhook:
    path: str
    url: str
    form: dict[str, str]
    headers: dict[str, str]
    time: float


class CallbackSink(BackgroundServer):
    """POST anything to base_url + any path; see it in `received`."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, record: bool = True) -> None:
        super().__init__(host=host, port=port)
        self.record = record
        self.count = 0
        self._received: list[ReceivedWebhook] = []
        self._lock = threading.Lock()

    @property
    def received(self) -> list[ReceivedWebhook]:
        with self._lock:
            return list(self._received)

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._receive)
        return app

    async def _receive(self, request: web.Request) -> web.Response:
        form = await request.post()
        webhook = ReceivedWebhook(
            path=request.path,
            url=f"{self.base_url}{request.path_qs}",
            form={key: str(value) for key, value in form.items()},
            headers=dict(request.headers),
            time=time.time(),
        )
        with self._lock:
            self.count += 1
            if self.record:
                self._received.append(webhook)
        return web.Response(text="")
