"""`GET /market/orderbook/{symbol}` (API.md "Market data"): a book from a feed's exchange.

Only a feed that reads an exchange (`ccxt_poll`, `ccxt_stream`) has a book behind its
prices; the handler finds one that carries the symbol (`GetFeedStatus`, from memory) and
asks it (`GetOrderBook`): the feed's book worker fetches with a client of its own, off
the thread that delivers prices, and keeps the book a second, so readers never multiply
exchange requests. A symbol fed only by a replay or a random walk answers 404 NOT_FOUND,
never a made-up book.
"""

from __future__ import annotations

import asyncio
import logging

from actors.messages import FeedStatus, GetFeedStatus, GetOrderBook
from api.bridge import ActorGateway, ActorUnavailable
from api.endpoint import endpoint
from api.errors import ApiError
from api.prices import path_symbol
from api.schemas.market import OrderBookOut, OrderBookQuery
from api.scope import ScopedHandler
from trading.feeds.order_book import ExchangeRefused, ExchangeUnavailable, NoOrderBook, OrderBook

logger = logging.getLogger(__name__)

ORDER_BOOK_TIMEOUT_S = 15.0
"""Longer than a feed's exchange timeout (10 s by default), so an exchange that does not
answer shows as 503 EXCHANGE_UNAVAILABLE rather than 504 ACTOR_TIMEOUT."""


async def feeds_of(gateway: ActorGateway, symbol: str) -> list[tuple[str, str, FeedStatus]]:
    """`(feed id, actor name, status)` of every running feed of `symbol`. A feed that does
    not answer its status (restarting, or busy with a slow exchange) is left out while
    another feed carries the symbol; when none does, that is the error, not a 404."""
    answers = await gateway.ask_feeds(lambda reply: GetFeedStatus(reply=reply))
    found = [
        (feed_id, name, answer) for feed_id, name, answer in answers
        if isinstance(answer, FeedStatus) and answer.symbol == symbol
    ]
    silent = {feed_id: answer for feed_id, _, answer in answers if isinstance(answer, BaseException)}
    if not found and silent:
        if any(isinstance(error, asyncio.TimeoutError) for error in silent.values()):
            raise ApiError(504, "ACTOR_TIMEOUT", f"feeds {sorted(silent)} did not answer within {gateway.timeout_s:g} s")
        raise ApiError(503, "ACTOR_UNAVAILABLE", f"feeds {sorted(silent)} are not running")
    return found


def book_feed(feeds: list[tuple[str, str, FeedStatus]], symbol: str, exchange: str | None) -> tuple[str, str]:
    """The `(feed id, actor name)` to ask for the book, or the 404 that says why none."""
    if not feeds:
        raise ApiError(404, "NOT_FOUND", f"no feed carries {symbol}")
    live = [(feed_id, name) for feed_id, name, status in feeds if status.exchange is not None
            and exchange in (None, status.exchange)]
    if live:
        return live[0]
    sources = {feed_id: status.exchange for feed_id, _, status in feeds}
    if exchange is not None and any(sources.values()):
        reason = f"no feed reads {symbol} from {exchange}"
    else:
        reason = (f"{symbol} is fed by a candle replay or a random walk, not by an exchange, so it has no order book "
                  "(order books come from ccxt_poll and ccxt_stream feeds)")
    raise ApiError(404, "NOT_FOUND", reason, {"feeds": sources})


class OrderBookHandler(ScopedHandler):
    @endpoint("Order book of a symbol", query=OrderBookQuery, response=OrderBookOut,
              errors=("NOT_FOUND", "EXCHANGE_ERROR", "EXCHANGE_UNAVAILABLE",
                      "ACTOR_UNAVAILABLE", "ACTOR_TIMEOUT"),
              tags=("market",))
    async def get(self, symbol: str) -> None:
        """The best `depth` bids and asks, fetched from the exchange of a `ccxt_poll` or
        `ccxt_stream` feed of the symbol (at most one request a second per feed: a book
        can be up to a second old). 404 NOT_FOUND when only a replay or a
        random walk feeds it; 503 when the exchange does not answer, 502 when it refuses."""
        symbol = path_symbol(symbol)
        query = self.parse_query(OrderBookQuery)
        gateway = self.context.actors if self.context is not None else None
        if gateway is None:
            raise ApiError(404, "NOT_FOUND", f"no feed carries {symbol}: no feeds run in this process")
        feed_id, name = book_feed(await feeds_of(gateway, symbol), symbol, query.exchange)
        book = await self._ask(gateway, name, query.depth)
        self.write_model(OrderBookOut(
            symbol=book.symbol, exchange=book.exchange, feed=feed_id,
            bids=list(book.bids), asks=list(book.asks), timestamp=book.timestamp_ms,
        ))

    async def _ask(self, gateway: ActorGateway, name: str, depth: int) -> OrderBook:
        """The feed's book, its failures as API.md's errors."""
        try:
            return await gateway.ask(name, lambda reply: GetOrderBook(depth=depth, reply=reply), ORDER_BOOK_TIMEOUT_S)
        except NoOrderBook as error:
            raise ApiError(404, "NOT_FOUND", str(error)) from None
        except ExchangeUnavailable as error:
            raise ApiError(503, "EXCHANGE_UNAVAILABLE", f"{error}; try again shortly", {"retry_after_s": 1}) from None
        except ExchangeRefused as error:
            raise ApiError(502, "EXCHANGE_ERROR", str(error)) from None
        except ActorUnavailable:
            raise ApiError(503, "ACTOR_UNAVAILABLE", f"{name} is not running") from None
        except asyncio.TimeoutError:
            raise ApiError(504, "ACTOR_TIMEOUT", f"{name} did not answer within {ORDER_BOOK_TIMEOUT_S:g} s") from None
