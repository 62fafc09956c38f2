"""A fake Binance spot market stream server (websocket) on 127.0.0.1 for ccxt.pro's `binance`.

ccxt.pro connects to `urls['api']['ws']['spot'] + '/<n>'` (`/ws/0`) and sends
`{"method": "SUBSCRIBE", "params": ["xrpusdt@ticker"], "id": N}`; Binance answers
`{"result": null, "id": N}` and then pushes `24hrTicker` events (`@ticker`) or
`24hrMiniTicker` events (`@miniTicker`, ccxt's default) with prices as strings. This
server does the same: each `set_price` is pushed at once to every subscriber of the symbol,
and the latest price again every `interval_s` (Binance pushes tickers every second).
`<symbol>@kline_1m` gets Binance's `kline` events: each `set_candle` at once, and the
newest candle again with every pulse (Binance pushes the open candle every second or two).
`drop_connections` closes every socket, as a network blip or a Binance 24-hour disconnect
would; `refuse_for` turns new connections away for a while. Runs in a thread of its own.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket


class FakeBinanceStreams:
    """The server; tests call `set_price`, `drop_connections`, `refuse_for`, `subscribed`."""

    def __init__(self, *, interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self.port = 0
        self.prices: dict[str, tuple[Decimal, Decimal | None, Decimal | None]] = {}
        self.candles: dict[str, dict[str, Any]] = {}  # market id -> its newest kline ("k")
        self.handlers: set[StreamHandler] = set()
        self.connects = 0
        self.subscribe_requests: list[list[str]] = []
        self.refuse_until = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._http: tornado.httpserver.HTTPServer | None = None
        self._pulse_task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The base for a feed's `urls.ws` (ccxt adds `/ws/<n>`)."""
        return f"ws://127.0.0.1:{self.port}"

    # -- test controls (any thread) ------------------------------------------------------

    def set_price(self, market_id: str, last: str, bid: str | None = None, ask: str | None = None) -> None:
        price = (Decimal(last), Decimal(bid) if bid else None, Decimal(ask) if ask else None)
        self._call(lambda: self._set(market_id.upper(), price))

    def set_candle(self, market_id: str, open_ms: int, open_: str, high: str, low: str, close: str,
                   volume: str = "0", closed: bool = False) -> None:
        """Push a 1m kline (a new candle, or a new version of the open one) to its subscribers."""
        values = {"o": open_, "h": high, "l": low, "c": close, "v": volume}
        kline = {"t": open_ms, "T": open_ms + 59_999, "s": market_id.upper(), "i": "1m", "f": 1, "L": 2,
                 **{key: fmt(Decimal(value)) for key, value in values.items()},
                 "n": 2, "x": closed, "q": "0.00000000", "V": "0.00000000", "Q": "0.00000000", "B": "0"}
        self._call(lambda: self._set_candle(market_id.upper(), kline))

    def drop_connections(self) -> None:
        self._call(lambda: [handler.close(1001, "going away") for handler in list(self.handlers)])

    def refuse_for(self, seconds: float) -> None:
        self.refuse_until = time.monotonic() + seconds

    def subscribed(self) -> int:
        """Sockets open now with at least one subscription."""
        return sum(1 for handler in list(self.handlers) if handler.streams)

    # -- running -------------------------------------------------------------------------

    def start(self) -> FakeBinanceStreams:
        sockets = tornado.netutil.bind_sockets(self.port, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop

            async def listen() -> None:
                app = tornado.web.Application([(r"/ws(?:/.*)?", StreamHandler, {"server": self})])
                self._http = tornado.httpserver.HTTPServer(app)
                self._http.add_sockets(sockets)
                self._pulse_task = loop.create_task(self._pulse())

            loop.run_until_complete(listen())
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-binance-ws", daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return

        async def halt() -> None:
            # Close the sockets properly before the loop stops, as a server going down does;
            # a socket left open with no loop behind it would hang the client's close.
            if self._http is not None:
                self._http.stop()
            if self._pulse_task is not None:
                self._pulse_task.cancel()
            for handler in list(self.handlers):
                handler.close(1001, "going away")
            await asyncio.sleep(0.05)
            for handler in list(self.handlers):
                if handler.ws_connection is not None and handler.ws_connection.stream is not None:
                    handler.ws_connection.stream.close()
            loop.stop()

        asyncio.run_coroutine_threadsafe(halt(), loop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = None

    # -- on the server's loop --------------------------------------------------------------

    def _call(self, action: Any) -> None:
        assert self._loop is not None, "the server is not running"
        done = threading.Event()

        def run() -> None:
            try:
                action()
            finally:
                done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(5)

    def _set(self, market_id: str, price: tuple[Decimal, Decimal | None, Decimal | None]) -> None:
        self.prices[market_id] = price
        for handler in list(self.handlers):
            handler.push(market_id)

    def _set_candle(self, market_id: str, kline: dict[str, Any]) -> None:
        self.candles[market_id] = kline
        for handler in list(self.handlers):
            handler.push_candle(market_id)

    async def _pulse(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            for handler in list(self.handlers):
                for market_id in list(self.prices):
                    handler.push(market_id)
                for market_id in list(self.candles):
                    handler.push_candle(market_id)


class StreamHandler(tornado.websocket.WebSocketHandler):
    """One client socket: its subscribed streams, and the events pushed to it."""

    def initialize(self, server: FakeBinanceStreams) -> None:
        self.server = server
        self.streams: set[str] = set()

    def check_origin(self, origin: str) -> bool:
        return True

    async def get(self, *args: Any, **kwargs: Any) -> None:
        if time.monotonic() < self.server.refuse_until:
            self.set_status(503)
            self.finish("unavailable")
            return
        await super().get(*args, **kwargs)

    def open(self, *args: Any) -> None:
        self.server.connects += 1
        self.server.handlers.add(self)

    def on_message(self, message: str | bytes) -> None:
        request = json.loads(message)
        method, params = request.get("method"), list(request.get("params") or [])
        if method == "SUBSCRIBE":
            self.server.subscribe_requests.append(params)
            self.streams.update(params)
        elif method == "UNSUBSCRIBE":
            self.streams.difference_update(params)
        else:
            self.write_message(json.dumps({"code": 2, "msg": f"Invalid request: unknown method {method}",
                                           "id": request.get("id")}))
            return
        self.write_message(json.dumps({"result": None, "id": request.get("id")}))
        for market_id in list(self.server.prices):
            self.push(market_id)
        for market_id in list(self.server.candles):
            self.push_candle(market_id)

    def push_candle(self, market_id: str) -> None:
        """Binance's `kline` event of the newest candle, if this socket subscribed to it."""
        kline = self.server.candles.get(market_id)
        if kline is None or f"{market_id.lower()}@kline_1m" not in self.streams:
            return
        try:
            self.write_message(json.dumps({"e": "kline", "E": int(time.time() * 1000), "s": market_id, "k": kline}))
        except tornado.websocket.WebSocketClosedError:
            return

    def push(self, market_id: str) -> None:
        for event in stream_events(market_id, self.server.prices.get(market_id), self.streams):
            try:
                self.write_message(json.dumps(event))
            except tornado.websocket.WebSocketClosedError:
                return

    def on_close(self) -> None:
        self.server.handlers.discard(self)


def stream_events(market_id: str, price: tuple[Decimal, Decimal | None, Decimal | None] | None,
                  streams: set[str]) -> Iterator[dict[str, Any]]:
    """The events Binance sends for `market_id` on the subscribed `streams`."""
    if price is None:
        return
    last, bid, ask = price
    now = int(time.time() * 1000)
    common = {"E": now, "s": market_id, "c": fmt(last), "o": fmt(last), "h": fmt(last), "l": fmt(last),
              "v": "1000.00000000", "q": fmt(last * 1000)}
    lower = market_id.lower()
    if f"{lower}@ticker" in streams:
        yield {"e": "24hrTicker", **common, "p": "0.00000000", "P": "0.000", "w": fmt(last), "x": fmt(last),
               "Q": "1.00000000", "b": fmt(bid or last), "B": "10.00000000", "a": fmt(ask or last),
               "A": "10.00000000", "O": now - 86_400_000, "C": now, "F": 1, "L": 2, "n": 2}
    if f"{lower}@miniTicker" in streams:
        yield {"e": "24hrMiniTicker", **common}


def fmt(value: Decimal) -> str:
    """Binance's 8-decimal strings."""
    return f"{value:.8f}"


def serve_fake_binance_streams() -> Iterator[FakeBinanceStreams]:
    """The `fake_binance_ws` fixture: a stream server, stopped afterwards."""
    server = FakeBinanceStreams().start()
    yield server
    server.stop()
