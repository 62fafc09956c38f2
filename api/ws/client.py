"""One WebSocket client's outbound queue and inbound rate limit.

Writing: a message goes straight out (never awaited) while the socket keeps up. It is
written as the frame `wire.Outgoing` made once for every subscriber, straight to the
connection's stream: `write_message` would frame it again for each client and wrap each
write in an asyncio task, which halves the fan-out rate (bench/ws_fanout.py). Tornado's
own `write_message` is used when the connection negotiated compression (never, today:
the handler offers none). Once Tornado's stream holds unsent bytes, messages wait here instead: market
data one per channel and symbol (latest wins), everything else in a bounded queue. The
queue is pumped each time the last write completes. A client whose queue overflows, or
whose socket takes nothing for `write_timeout_s`, is closed with 1013 (try again later).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from tornado.ioloop import IOLoop
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError

from api.auth.tokens import Principal

if TYPE_CHECKING:
    from tornado.websocket import WebSocketHandler

CLOSE_TOO_SLOW = 1013


@dataclass(frozen=True)
class WsLimits:
    """`[api] ws_*` (config/schema.py)."""

    max_connections: int = 500
    max_connections_per_user: int = 5
    max_messages_per_s: int = 100
    queue_size: int = 1000
    write_timeout_s: float = 10.0
    auth_timeout_s: float = 10.0
    max_channels: int = 200


class InboundLimit:
    """A token bucket of `rate` messages a second (bursts of `rate`), and a second bucket
    of patience: each message refused spends one, and a client that spends it all (twice
    the rate in one burst, say) is flooding and gets closed."""

    def __init__(self, rate: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.rate = float(rate)
        self._monotonic = monotonic
        self._tokens = self.rate
        self._patience = self.rate
        self._at = monotonic()

    def allow(self) -> bool:
        now = self._monotonic()
        refill = (now - self._at) * self.rate
        self._at = now
        self._tokens = min(self.rate, self._tokens + refill)
        self._patience = min(self.rate, self._patience + refill)
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        self._patience -= 1
        return False

    @property
    def exhausted(self) -> bool:
        return self._patience <= 0


class Client:
    """The hub's view of one connection; every method runs on the IOLoop."""

    def __init__(
        self,
        handler: WebSocketHandler,
        limits: WsLimits,
        counters: Any,
        on_too_slow: Callable[[Client, str], None],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.handler = handler
        self.limits = limits
        self.counters = counters
        self.on_too_slow = on_too_slow
        self.monotonic = monotonic
        self.principal: Principal | None = None
        self.channels: set[str] = set()
        self.inbound = InboundLimit(limits.max_messages_per_s, monotonic)
        self.closing = False
        self._stream: Any = None
        self._preframed = False
        self._queue: deque[Any] = deque()  # wire.Outgoing (or anything with kind, payload, frame)
        self._market: dict[str, Any] = {}
        self._last_write: Any = None
        self._armed = False
        self.stalled_since: float | None = None

    @property
    def is_admin(self) -> bool:
        return self.principal is not None and self.principal.role == "admin"

    @property
    def user_id(self) -> str | None:
        return self.principal.user_id if self.principal is not None else None

    def opened(self) -> None:
        # The one reach into Tornado's innards: the connection's stream, which says whether
        # bytes are waiting and takes our ready-made frames.
        connection = self.handler.ws_connection
        self._stream = getattr(connection, "stream", None)
        self._preframed = self._stream is not None and self.handler.get_compression_options() is None

    def send(self, out: Any) -> None:
        """Write `out` (a `wire.Outgoing`) now if the socket keeps up, else queue it."""
        if self.closing:
            return
        if not self._queue and not self._market and not self._busy():
            self._write(out)
            return
        if out.conflate is not None:
            replaced = self._market.get(out.conflate)
            if replaced is not None:
                self.counters.dropped[replaced.kind] += 1
            self._market[out.conflate] = out
        elif len(self._queue) >= self.limits.queue_size:
            self.on_too_slow(self, f"more than {self.limits.queue_size} messages waiting")
            return
        else:
            self._queue.append(out)
        self._wait_for_drain()

    def check_stall(self, now: float) -> None:
        """Called by the hub's sweep: close a client whose socket took nothing for too long."""
        if self.stalled_since is not None and now - self.stalled_since > self.limits.write_timeout_s:
            self.on_too_slow(self, f"its socket took nothing for {self.limits.write_timeout_s:g} s")

    def discard(self) -> int:
        """Drop what waits (the client is being closed); returns how many messages."""
        self.closing = True
        for out in self._queue:
            self.counters.dropped[out.kind] += 1
        for out in self._market.values():
            self.counters.dropped[out.kind] += 1
        count = len(self._queue) + len(self._market)
        self._queue.clear()
        self._market.clear()
        return count

    # -- helpers --------------------------------------------------------------------------

    def _busy(self) -> bool:
        return self._stream is not None and self._stream.writing()

    def _write(self, out: Any) -> None:
        try:
            if self._preframed:
                self._last_write = self._stream.write(out.frame)
            else:
                self._last_write = self.handler.write_message(out.payload)
        except (WebSocketClosedError, StreamClosedError):
            self.closing = True
            return
        self.counters.sent[out.kind] += 1
        if self._busy():
            # This write will complete later (or fail when the socket closes): consume its
            # outcome so asyncio does not log an unretrieved WebSocketClosedError.
            self._last_write.add_done_callback(_consume)

    def _wait_for_drain(self) -> None:
        if self.stalled_since is None:
            self.stalled_since = self.monotonic()
        if self._armed:
            return
        self._armed = True
        if self._last_write is None or self._last_write.done():
            IOLoop.current().add_callback(self._pump)
        else:
            self._last_write.add_done_callback(self._pump)

    def _pump(self, _: Any = None) -> None:
        self._armed = False
        if self.closing:
            return
        self.stalled_since = None  # a write completed: the client is taking data
        while (self._queue or self._market) and not self._busy() and not self.closing:
            if self._queue:
                out = self._queue.popleft()
            else:
                out = self._market.pop(next(iter(self._market)))
            self._write(out)
        if (self._queue or self._market) and not self.closing:
            self._wait_for_drain()


def _consume(future: Any) -> None:
    if not future.cancelled():
        future.exception()
