"""`RelayOutlet`: the thread boundary between the `RelayActor` and the WebSocket hub.

The relay calls `push(batch)` on its own thread: the items are mapped and serialised
there (`wire.prepare`), queued, and the IOLoop is woken with one `add_callback` unless a
wake-up is already pending, so a burst costs the loop one callback however many items it
holds. Market data is conflated here as well (latest wins per channel and symbol): a loop
that falls behind finds one price per symbol waiting, never a backlog.

The hub `attach`es from the loop when it first has a client; until then pushes are only
remembered as the latest price per symbol, which a new `market:` subscriber gets at once.

Candles (`kline:`) are built here from the tickers (`api.ws.klines`), on the relay's
thread; fills are handed to the hub's position updates as they are (`on_fills`), with the
batch of messages they came with.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from tornado.ioloop import IOLoop

from api.ws.klines import KlineBook
from api.ws.wire import Outgoing, prepare

logger = logging.getLogger(__name__)

MAX_PENDING = 100_000
"""Messages that must all arrive, waiting for a loop that stopped draining; past it the
oldest go (and are counted): the loop is then wedged, and memory matters more."""


class RelayOutlet:
    """See the module docstring. Thread-safe: `push` from any thread, the rest on the loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Outgoing] = []
        self._market: dict[str, Outgoing] = {}
        self._latest: dict[str, Outgoing] = {}  # conflation key -> last market message
        self._wake_pending = False
        self._io_loop: IOLoop | None = None
        self._consumer: Callable[[list[Outgoing]], None] | None = None
        self._on_fills: Callable[[list[Any]], None] | None = None
        self._fills: list[Any] = []
        self._klines = KlineBook()  # the relay's thread only
        self.dropped = 0
        self.conflated = 0

    def attach(self, consumer: Callable[[list[Outgoing]], None], on_fills: Callable[[list[Any]], None] | None = None) -> None:
        """Deliver to `consumer` (and the relayed `OrderFilled` events to `on_fills`) on
        the current IOLoop from now on (call on the loop)."""
        with self._lock:
            self._io_loop = IOLoop.current()
            self._consumer = consumer
            self._on_fills = on_fills

    def detach(self) -> None:
        with self._lock:
            self._io_loop = None
            self._consumer = None
            self._on_fills = None
            self._pending.clear()
            self._fills.clear()
            self._market.clear()

    def push(self, batch: Sequence[Any]) -> None:
        """The relay's thread: map, serialise and queue `batch`; wake the loop once."""
        prepared = []
        fills = []
        for item in batch:
            prepared.extend(prepare(item))
            name = type(item).__name__
            if name == "TickerUpdated":
                prepared.extend(self._klines.update(item))
            elif name == "OrderFilled":
                fills.append(item)
        if not prepared:
            return
        with self._lock:
            if self._on_fills is not None:
                self._fills.extend(fills)
                del self._fills[:-MAX_PENDING]
            for out in prepared:
                if out.conflate is not None:
                    self._latest[out.conflate] = out
                    if self._consumer is not None:
                        if out.conflate in self._market:
                            self.conflated += 1
                        self._market[out.conflate] = out
                elif self._consumer is not None:
                    self._pending.append(out)
            if len(self._pending) > MAX_PENDING:
                excess = len(self._pending) - MAX_PENDING
                del self._pending[:excess]
                self.dropped += excess
                logger.warning("the IOLoop is not draining WebSocket messages; dropped %d", excess)
            if self._io_loop is None or self._wake_pending or not (self._pending or self._market):
                return
            self._wake_pending = True
            io_loop = self._io_loop
        try:
            io_loop.add_callback(self._drain)
        except RuntimeError:  # the loop is closed: the daemon is going away
            pass

    def latest(self, conflate_key: str) -> Outgoing | None:
        """The last market message of `conflate_key`, for a new subscriber."""
        return self._latest.get(conflate_key)

    def _drain(self) -> None:
        with self._lock:
            self._wake_pending = False
            batch = self._pending
            self._pending = []
            if self._market:
                batch.extend(self._market.values())
                self._market = {}
            consumer = self._consumer
            fills, self._fills = self._fills, []
            on_fills = self._on_fills
        if consumer is not None and batch:
            consumer(batch)
        if on_fills is not None and fills:
            on_fills(fills)
