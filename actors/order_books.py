"""How a feed actor answers `GetOrderBook`: from its source's exchange, on a worker thread.

A book is a blocking REST call (up to the source's timeout), and the feed's own thread
delivers prices to bots and the paper exchange, so the feed only hands each query to its
desk's worker: one thread, started on the first query and ended when the feed stops
(`OrderBookDesk.close`). The worker alone owns the desk's ccxt client (its own, not the
one the feed's polls use: ccxt clients are not thread-safe) and its `RecentOrderBook`, and
settles each query's reply itself (a `Reply` is settled from any thread).

Queries wait in the worker's queue, so those that arrive while a fetch is in flight are
answered by that same fetch, from the book it kept for `ORDER_BOOK_TTL_S`; many API readers
cost the exchange one request a second at most. An outage is remembered from
`ORDER_BOOK_TTL_S` up to `MAX_OUTAGE_S`, longer each time, so a down exchange is not asked
every second.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable

from actors.messages import GetOrderBook
from trading.feeds.order_book import (
    ExchangeUnavailable, NoOrderBook, OrderBook, OrderBookClient, OrderBookError, OrderBookSource, RecentOrderBook,
)

logger = logging.getLogger(__name__)

ORDER_BOOK_TTL_S = 1.0
MAX_OUTAGE_S = 30.0


class OrderBookDesk:
    """The order books of one feed: a source that has them, or a clear refusal.

    `answer` and `close` run on the feed's thread; everything else on the worker's."""

    def __init__(
        self, source: Any, symbol: str, monotonic: Callable[[], float], ttl_s: float = ORDER_BOOK_TTL_S,
        max_outage_s: float = MAX_OUTAGE_S,
    ) -> None:
        self.source: OrderBookSource | None = source if isinstance(source, OrderBookSource) else None
        self.symbol = symbol
        self.recent = RecentOrderBook(ttl_s, monotonic, max_outage_s)
        self._client: OrderBookClient | None = None
        self._queries: queue.SimpleQueue[GetOrderBook | None] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._closed = False

    @property
    def exchange(self) -> str | None:
        """The exchange the books come from; None when the feed has none behind it."""
        return self.source.exchange_id if self.source is not None else None

    def answer(self, query: GetOrderBook) -> None:
        """Queue `query` for the worker, which settles its reply with the book or with the
        error that says why there is none; refuse at once when there can be none."""
        if self.source is None:
            query.reply.set_exception(NoOrderBook(
                f"{self.symbol} is fed by a candle replay or a random walk, not by an exchange, so it has no order book"
            ))
            return
        if self._closed:
            query.reply.set_exception(ExchangeUnavailable(f"the {self.symbol} feed is stopping"))
            return
        if self._worker is None:
            # A daemon thread: a fetch hanging at shutdown must not hold the process up.
            self._worker = threading.Thread(target=self._work, name=f"books-{self.symbol}", daemon=True)
            self._worker.start()
        self._queries.put(query)

    def close(self) -> None:
        """When the feed stops: the queries queued so far are still answered, then the
        worker closes its client and ends. The feed's stop does not wait for a slow fetch."""
        self._closed = True
        if self._worker is not None:
            self._queries.put(None)
            self._worker = None

    # -- on the worker's thread -----------------------------------------------------------

    def _work(self) -> None:
        while (query := self._queries.get()) is not None:
            self._serve(query)
        self._close_client()

    def _serve(self, query: GetOrderBook) -> None:
        """Settle the reply. A failure never reaches the feed: its prices matter more."""
        try:
            book = self.recent.get(query.depth, self._fetch)
        except OrderBookError as error:
            query.reply.set_exception(error)
        except Exception as error:  # a bug: answered (a 500), logged, and the worker goes on
            logger.exception("order book of %s failed", self.symbol)
            query.reply.set_exception(error)
        else:
            query.reply.set_result(book)

    def _fetch(self, depth: int) -> OrderBook:
        if self._client is None:
            self._client = self.source.order_book_client()  # type: ignore[union-attr]
        return self._client.order_book(depth)

    def _close_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
