"""How a feed actor answers `GetOrderBook`: from its source's exchange, on its own thread.

The source's ccxt client belongs to the feed actor's thread, so the book is fetched there,
blocking this feed only (a poll does the same). The last book is kept for
`ORDER_BOOK_TTL_S` (`RecentOrderBook`): requests queued behind a fetch are answered from it,
and many API readers cost the exchange one request a second at most.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from actors.messages import GetOrderBook
from trading.feeds.order_book import NoOrderBook, OrderBookError, OrderBookSource, RecentOrderBook

logger = logging.getLogger(__name__)

ORDER_BOOK_TTL_S = 1.0


class OrderBookDesk:
    """The order books of one feed: a source that has them, or a clear refusal."""

    def __init__(self, source: Any, symbol: str, monotonic: Callable[[], float], ttl_s: float = ORDER_BOOK_TTL_S) -> None:
        self.source: OrderBookSource | None = source if isinstance(source, OrderBookSource) else None
        self.symbol = symbol
        self.recent = RecentOrderBook(ttl_s, monotonic)

    @property
    def exchange(self) -> str | None:
        """The exchange the books come from; None when the feed has none behind it."""
        return self.source.exchange_id if self.source is not None else None

    def answer(self, query: GetOrderBook) -> None:
        """Settle `query.reply` with the book, or with the error that says why there is
        none. A failure never fails the feed: its prices matter more than a book."""
        if self.source is None:
            query.reply.set_exception(NoOrderBook(
                f"{self.symbol} is fed by a candle replay or a random walk, not by an exchange, so it has no order book"
            ))
            return
        try:
            book = self.recent.get(query.depth, self.source.order_book)
        except OrderBookError as error:
            query.reply.set_exception(error)
        except Exception as error:  # a bug: answered (a 500), logged, and the feed goes on
            logger.exception("order book of %s failed", self.symbol)
            query.reply.set_exception(error)
        else:
            query.reply.set_result(book)
