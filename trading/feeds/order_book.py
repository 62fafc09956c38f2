"""Order books of the symbols a feed reads from an exchange, and a short cache of them.

Only a feed whose source is an exchange (`ccxt_poll`, `ccxt_stream`) has a book behind its
prices; a candle replay or a random walk has none, and says so (`NoOrderBook`) rather than
inventing one. A book is fetched on demand, not streamed: `RecentOrderBook` keeps the last
one for a second or so, so that many readers cost the exchange one request, and remembers
an outage for longer each time it lasts, so that a down exchange is not asked every second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

Level = tuple[Decimal, Decimal]
"""`(price, amount)` of one price level."""


@dataclass(frozen=True)
class OrderBook:
    """Bids best (highest) first, asks best (lowest) first; `timestamp_ms` is the
    exchange's time of the book, or when it was received if the exchange gives none."""

    symbol: str
    exchange: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    timestamp_ms: int

    @classmethod
    def of(cls, symbol: str, exchange: str, bids: Iterable[Level], asks: Iterable[Level], timestamp_ms: int) -> OrderBook:
        """A book with its sides sorted best first, whatever order they came in."""
        return cls(
            symbol=symbol, exchange=exchange, timestamp_ms=timestamp_ms,
            bids=tuple(sorted(bids, key=lambda level: level[0], reverse=True)),
            asks=tuple(sorted(asks, key=lambda level: level[0])),
        )

    def top(self, depth: int) -> OrderBook:
        """The best `depth` levels of each side."""
        if len(self.bids) <= depth and len(self.asks) <= depth:
            return self
        return OrderBook(self.symbol, self.exchange, self.bids[:depth], self.asks[:depth], self.timestamp_ms)


class OrderBookError(Exception):
    """Why there is no book to give."""


class NoOrderBook(OrderBookError):
    """The feed's source has no exchange behind it (a replay, a random walk)."""


class ExchangeUnavailable(OrderBookError):
    """The exchange did not answer (network, timeout, maintenance, rate limit): try later."""


class ExchangeRefused(OrderBookError):
    """The exchange answered with an error (an unknown symbol, a bad request)."""


class OrderBookClient(Protocol):
    """A connection to one symbol's books, used by one thread only and closed after."""

    def order_book(self, depth: int) -> OrderBook:
        """The best `depth` levels a side, now; raises `ExchangeUnavailable` or
        `ExchangeRefused`, never the exchange library's own errors."""
        ...

    def close(self) -> None:
        """Let go of the connection; the client is not used again."""
        ...


@runtime_checkable
class OrderBookSource(Protocol):
    """A feed source whose symbol has a book: it makes clients for it, each with a
    connection of its own, so that books never share the thread-bound one its prices use."""

    exchange_id: str

    def order_book_client(self) -> OrderBookClient:
        """A new client, for the thread that will use it and close it."""
        ...


class RecentOrderBook:
    """The last book fetched, reused for `ttl_s` by any request that wants no more levels
    than it has. An exchange outage is remembered too, so a queue of readers does not send
    a request each to an exchange that is down: for `ttl_s` at first, twice as long after
    each outage in a row (up to `max_outage_s`), `ttl_s` again once the exchange answers.
    Not thread-safe: one owner (a feed's book worker, `actors.order_books`)."""

    def __init__(self, ttl_s: float, monotonic: Callable[[], float], max_outage_s: float = 30.0) -> None:
        self.ttl_s = ttl_s
        self.max_outage_s = max(max_outage_s, ttl_s)
        self._monotonic = monotonic
        self._book: OrderBook | None = None
        self._depth = 0
        self._at = float("-inf")
        self._outage: ExchangeUnavailable | None = None
        self._outage_until = float("-inf")
        self.outage_s = ttl_s
        """How long the next outage will be remembered."""
        self.fetches = 0

    def get(self, depth: int, fetch: Callable[[int], OrderBook]) -> OrderBook:
        """The best `depth` levels, from the kept book while it is fresh enough, else
        `fetch(depth)`; the remembered outage while it lasts."""
        now = self._monotonic()
        if self._outage is not None and now < self._outage_until:
            raise self._outage
        if self._book is not None and depth <= self._depth and now - self._at < self.ttl_s:
            return self._book.top(depth)
        self.fetches += 1
        try:
            book = fetch(depth)
        except ExchangeUnavailable as error:
            self._remember_outage(error)
            raise
        except OrderBookError:
            self._exchange_answered()
            raise
        self._exchange_answered()
        self._book, self._depth, self._at = book, depth, self._monotonic()
        return book.top(depth)

    def _remember_outage(self, error: ExchangeUnavailable) -> None:
        self._book, self._outage = None, error
        self._outage_until = self._monotonic() + self.outage_s
        self.outage_s = min(self.outage_s * 2, self.max_outage_s)

    def _exchange_answered(self) -> None:
        """A book or a refusal: either way the exchange is up again."""
        self._outage, self.outage_s = None, self.ttl_s
