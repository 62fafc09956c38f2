"""A local HTTP server that records every request and answers through a test's function.

Real ccxt talks to it through its URL overrides, so a test sees the exact request ccxt
builds (method, path, query, headers, body) without any network beyond 127.0.0.1. The
server runs its own IOLoop on a thread of its own; `answer` is called on that thread.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web


@dataclass(frozen=True)
class Captured:
    """One request as it reached the server."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def params(self) -> dict[str, str]:
        """The query string's parameters (last value wins)."""
        return dict(parse_qsl(self.query, keep_blank_values=True))

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


Responder = Callable[[Captured], Answer]


class _Handler(tornado.web.RequestHandler):
    def initialize(self, server: CaptureServer) -> None:
        self.server = server

    def check_xsrf_cookie(self) -> None:  # a test server: no browser, no cookies
        pass

    async def _any(self, *args: str) -> None:
        request = self.request
        captured = Captured(
            method=request.method or "",
            path=request.path,
            query=request.query,
            headers=dict(request.headers.items()),
            body=request.body or b"",
        )
        self.server.record(captured)
        answer = self.server.answer(captured)
        self.set_status(answer.status)
        for name, value in answer.headers.items():
            self.set_header(name, value)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(answer.body))

    get = post = delete = put = _any


class CaptureServer:
    """Records requests in `requests` (thread-safe) and answers each with `answer(request)`."""

    def __init__(self, answer: Responder) -> None:
        self.answer = answer
        self._lock = threading.Lock()
        self._requests: list[Captured] = []
        self.port = 0
        self._loop: tornado.ioloop.IOLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[Captured]:
        with self._lock:
            return list(self._requests)

    def record(self, captured: Captured) -> None:
        with self._lock:
            self._requests.append(captured)

    def to(self, path: str) -> list[Captured]:
        return [request for request in self.requests if request.path == path]

    def start(self) -> None:
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(asyncio.new_event_loop())
            self._loop = tornado.ioloop.IOLoop.current()
            app = tornado.web.Application([(r"/.*", _Handler, {"server": self})])
            server = tornado.httpserver.HTTPServer(app)
            server.add_sockets(sockets)
            self._loop.add_callback(ready.set)
            self._loop.start()
            server.stop()
            self._loop.close(all_fds=True)

        self._thread = threading.Thread(target=run, name="capture-server", daemon=True)
        self._thread.start()
        ready.wait(5)

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.add_callback(self._loop.stop)
            self._thread.join(5)


@contextmanager
def capture_server(answer: Responder) -> Iterator[CaptureServer]:
    server = CaptureServer(answer)
    server.start()
    try:
        yield server
    finally:
        server.stop()
