"""Real WebSocket clients for tests: Tornado's client on an event loop of the test's own,
talking to a `LiveServer` over loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from tornado.websocket import WebSocketClientConnection, websocket_connect

TIMEOUT_S = 10.0


class ClientLoop:
    """An event loop in the test's thread that drives any number of clients."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def run(self, make: Callable[[], Any], timeout: float = TIMEOUT_S) -> Any:
        """`await make()` on this loop (made inside it: Tornado's futures bind to the
        running loop), at most `timeout` seconds."""
        async def run_() -> Any:
            return await asyncio.wait_for(make(), timeout)

        return self.loop.run_until_complete(run_())

    def connect(self, port: int, query: str = "", path: str = "/ws") -> WsClient:
        async def open_() -> WebSocketClientConnection:
            return await websocket_connect(f"ws://127.0.0.1:{port}{path}{query}")

        return WsClient(self, self.run(open_))

    def close(self) -> None:
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()


class WsClient:
    def __init__(self, loop: ClientLoop, connection: WebSocketClientConnection) -> None:
        self.loop = loop
        self.connection = connection
        self.received: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any] | str) -> None:
        text = message if isinstance(message, str) else json.dumps(message)
        self.loop.run(lambda: self.connection.write_message(text))

    def recv(self, timeout: float = TIMEOUT_S) -> dict[str, Any] | None:
        """The next message, or None once the server closed the connection."""
        raw = self.loop.run(self.connection.read_message, timeout)
        if raw is None:
            return None
        message = json.loads(raw)
        self.received.append(message)
        return message

    def recv_until(self, wanted: Callable[[dict[str, Any]], bool], timeout: float = TIMEOUT_S) -> dict[str, Any]:
        """Read until a message `wanted` accepts; fails on close or after `timeout`."""
        async def read() -> dict[str, Any]:
            while True:
                raw = await self.connection.read_message()
                assert raw is not None, f"closed ({self.close_code} {self.close_reason}) while waiting; got {self.received[-5:]}"
                message = json.loads(raw)
                self.received.append(message)
                if wanted(message):
                    return message

        return self.loop.run(read, timeout)

    def recv_close(self, timeout: float = TIMEOUT_S) -> tuple[int | None, str | None]:
        """Read (and keep) everything up to the close; the close code and reason."""
        async def drain() -> None:
            while (raw := await self.connection.read_message()) is not None:
                self.received.append(json.loads(raw))

        self.loop.run(drain, timeout)
        return self.close_code, self.close_reason

    def subscribe(self, *channels: str) -> list[dict[str, Any]]:
        """Subscribe and return what the server answered: `subscribed` and/or `error`s."""
        self.send({"type": "subscribe", "channels": list(channels)})
        answers: list[dict[str, Any]] = []
        names = set(channels)
        while names:
            message = self.recv_until(lambda m: m["type"] in ("subscribed", "error"))
            answers.append(message)
            if message["type"] == "subscribed":
                return answers
            names.discard(message.get("channel"))
        return answers

    @property
    def close_code(self) -> int | None:
        return self.connection.close_code

    @property
    def close_reason(self) -> str | None:
        return self.connection.close_reason

    def close(self) -> None:
        self.connection.close()
