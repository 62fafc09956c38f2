"""Order books of the symbols a feed reads from an exchange, and a short cache of them.

Only a feed whose source is an exchange (`ccxt_poll`, `ccxt_stream`) has a book behind its
prices; a candle replay or a random walk has none, and says so (`NoOrderBook`) rather than
inventing one. A book is fetched on demand, not streamed: `RecentOrderBook` keeps the last
one for a second or so, so that many readers cost the exchange one request.
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


@runtime_checkable
class OrderBookSource(Protocol):
    """A feed source that can fetch its symbol's book, on the feed actor's thread."""

    exchange_id: str

    def order_book(self, depth: int) -> OrderBook:
        """The best `depth` levels a side, now; raises `ExchangeUnavailable` or
        `ExchangeRefused`, never the exchange library's own errors."""
        ...


class RecentOrderBook:
    """The last book fetched, reused for `ttl_s` by any request that wants no more levels
    than it has; an exchange outage is remembered as long, so a queue of readers does not
    send a request each to an exchange that is down. Not thread-safe: one owner."""

    def __init__(self, ttl_s: float, monotonic: Callable[[], float]) -> None:
        self.ttl_s = ttl_s
        self._monotonic = monotonic
        self._book: OrderBook | None = None
        self._depth = 0
        self._outage: ExchangeUnavailable | None = None
        self._at = float("-inf")
        self.fetches = 0

    def get(self, depth: int, fetch: Callable[[int], OrderBook]) -> OrderBook:
        """The best `depth` levels, from the kept book while it is fresh enough, else
        `fetch(depth)`."""
        if self._monotonic() - self._at < self.ttl_s:
            if self._outage is not None:
                raise self._outage
            if self._book is not None and depth <= self._depth:
                return self._book.top(depth)
        self.fetches += 1
        try:
            book = fetch(depth)
        except ExchangeUnavailable as error:
            self._book, self._outage, self._at = None, error, self._monotonic()
            raise
        self._book, self._depth, self._outage, self._at = book, depth, None, self._monotonic()
        return book.top(depth)
