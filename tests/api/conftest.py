"""A real Tornado server on loopback, in a thread of its own, for real HTTP clients."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web

from api.app import make_app
from api.context import ApiContext


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any


class LiveServer:
    """Serves an application on 127.0.0.1:<free port> until `close()`."""

    def __init__(self, app: tornado.web.Application) -> None:
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(app, sockets), daemon=True)
        self._thread.start()
        self._ready.wait(5)

    def _serve(self, app: tornado.web.Application, sockets: list[Any]) -> None:
        async def main() -> None:
            server = tornado.httpserver.HTTPServer(app)
            server.add_sockets(sockets)
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await self._stop.wait()
            server.stop()

        asyncio.run(main())

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Response:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as reply:
                status, reply_headers, raw = reply.status, dict(reply.headers), reply.read()
        except urllib.error.HTTPError as error:
            status, reply_headers, raw = error.code, dict(error.headers), error.read()
        return Response(status, reply_headers, json.loads(raw) if raw else None)


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    server = LiveServer(make_app(ApiContext(version="9.9.9")))
    yield server
    server.close()
