"""A feed actor's `GetOrderBook`: fetched on its desk's worker thread from its source's
exchange (the fake Binance), for polled and streamed sources alike, never holding up the
feed's prices; a paper feed refuses clearly."""

from __future__ import annotations

import queue
import threading
from decimal import Decimal
from typing import Any

import pytest

from actors.feed import MarketFeedActor, PublishPrice, SubscribeMarketData, feed_source, price_list_source
from actors.messages import FeedStatus, GetFeedStatus, GetOrderBook
from actors.reply import FutureReply
from config.schema import CcxtPollFeedConfig, CcxtStreamFeedConfig
from tests.actors.test_feed_ccxt_stream import Subscriber
from tests.fake_exchange.binance import depth_level
from tests.waiting import eventually
from trading.feeds.order_book import ExchangeUnavailable, NoOrderBook, OrderBook
from trading.market_data import TickerUpdated

D = Decimal
SYMBOL = "XRP/USDT"
DEPTH_PATH = "/api/v3/depth"


def ask(feed, message_type, **fields):
    reply = FutureReply()
    feed.tell(message_type(reply=reply, **fields))
    return reply.wait(10)


def expected(depth: int) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    return ([depth_level(D("1.1"), D("0.0001"), "bid", i) for i in range(1, depth + 1)],
            [depth_level(D("1.1"), D("0.0001"), "ask", i) for i in range(1, depth + 1)])


def poll_source(fake_binance: Any, timeout_s: float = 2.0) -> Any:
    return feed_source(CcxtPollFeedConfig.model_validate({
        "id": "xrp", "source": "ccxt_poll", "exchange": "binance", "symbol": SYMBOL,
        "interval_s": 60, "timeout_s": timeout_s, "urls": {"all": fake_binance.url}, "candles": False,
    }))


def start_subscribed(scheduler: Any, source: Any) -> tuple[Any, queue.Queue[TickerUpdated]]:
    feed = MarketFeedActor.start(name="feed:xrp", scheduler=scheduler, source=source, symbol=SYMBOL)
    received: queue.Queue[TickerUpdated] = queue.Queue()
    feed.tell(SubscribeMarketData(ref=Subscriber.start(name="subscriber", received=received)))
    return feed, received


def slow_depth(fake_binance: Any, slow_s: float) -> None:
    """Every depth request is answered `slow_s` late; the rest of the exchange is fine."""
    fake_binance.faults.only_paths = (DEPTH_PATH,)
    fake_binance.fail(1.0, ("timeout",), slow_s=slow_s)


class MadeClients:
    """Records the book clients a source makes (real ones, made by the source)."""

    def __init__(self, source: Any) -> None:
        self.clients: list[Any] = []
        self._make = source.order_book_client
        source.order_book_client = self

    def __call__(self) -> Any:
        client = self._make()
        self.clients.append(client)
        return client


def test_a_polled_feed_fetches_the_book_with_its_own_client(scheduler, fake_binance):
    source = poll_source(fake_binance)
    feed = MarketFeedActor.start(name="feed:xrp", scheduler=scheduler, source=source, symbol=SYMBOL)

    book: OrderBook = ask(feed, GetOrderBook, depth=4)

    assert (list(book.bids), list(book.asks)) == expected(4)
    assert ask(feed, GetFeedStatus).exchange == "binance"
    # Books have a client of their own (ccxt clients are not thread-safe): two loaded markets.
    eventually(lambda: len(fake_binance.requests_to("GET", "/api/v3/exchangeInfo")) == 2, what="both clients")


def test_a_book_blocked_on_a_slow_exchange_does_not_hold_up_prices(scheduler, fake_binance):
    slow_depth(fake_binance, slow_s=2.0)
    feed, received = start_subscribed(scheduler, poll_source(fake_binance, timeout_s=1.0))
    assert received.get(timeout=5).last == D("1.1")  # the first poll
    book = FutureReply()
    feed.tell(GetOrderBook(reply=book, depth=5))
    eventually(lambda: fake_binance.requests_to("GET", DEPTH_PATH), what="the book asked for")

    feed.tell(PublishPrice(price=D("1.2345")))

    assert received.get(timeout=5).last == D("1.2345")
    assert not book.future.done()  # the price came while the book was still on its way
    with pytest.raises(ExchangeUnavailable, match="RequestTimeout"):
        book.wait(5)
    assert feed.is_alive()


def test_books_asked_while_one_is_fetched_share_that_fetch(scheduler, fake_binance):
    slow_depth(fake_binance, slow_s=0.3)  # slow, but within the client's timeout
    feed = MarketFeedActor.start(name="feed:xrp", scheduler=scheduler, source=poll_source(fake_binance), symbol=SYMBOL)
    replies = [FutureReply() for _ in range(3)]
    feed.tell(GetOrderBook(reply=replies[0], depth=5))
    eventually(lambda: fake_binance.requests_to("GET", DEPTH_PATH), what="the book asked for")
    for reply in replies[1:]:
        feed.tell(GetOrderBook(reply=reply, depth=3))

    books = [reply.wait(5) for reply in replies]

    assert [len(book.bids) for book in books] == [5, 3, 3]
    assert books[1].asks == books[0].asks[:3]
    assert len(fake_binance.requests_to("GET", DEPTH_PATH)) == 1


def test_the_book_client_is_closed_when_the_feed_stops_and_made_again_after(scheduler, fake_binance):
    source = poll_source(fake_binance)
    made = MadeClients(source)
    feed = MarketFeedActor.start(name="feed:xrp", scheduler=scheduler, source=source, symbol=SYMBOL)
    ask(feed, GetOrderBook, depth=5)

    feed.stop()

    first, = made.clients
    eventually(lambda: first.closed, what="the book client closed")
    assert not first.client.session.adapters["http://"].poolmanager.pools  # its connections let go
    eventually(lambda: not [t for t in threading.enumerate() if t.name.startswith(f"books-{SYMBOL}")],
               what="the book worker ending")
    # A restarted feed (the same source, as the supervisor does) has books again.
    feed = MarketFeedActor.start(name="feed:xrp", scheduler=scheduler, source=source, symbol=SYMBOL)
    assert len(ask(feed, GetOrderBook, depth=5).bids) == 5
    assert len(made.clients) == 2 and not made.clients[1].closed


def test_a_streamed_feed_fetches_the_book_over_rest(scheduler, fake_binance, streams):
    streams.set_price("XRPUSDT", "1.1000")
    source = feed_source(CcxtStreamFeedConfig.model_validate({
        "id": "xrp", "source": "ccxt_stream", "exchange": "binance", "symbol": SYMBOL,
        "reconnect_s": 0.1, "timeout_s": 2.0, "urls": {"all": fake_binance.url, "ws": streams.url},
    }))
    feed = MarketFeedActor.start(name="feed:xrp", scheduler=scheduler, source=source, symbol=SYMBOL)

    book: OrderBook = ask(feed, GetOrderBook, depth=3)
    again: OrderBook = ask(feed, GetOrderBook, depth=2)

    assert (list(book.bids), list(book.asks)) == expected(3)
    assert again.bids == book.bids[:2]
    assert len(fake_binance.requests_to("GET", "/api/v3/depth")) == 1
    assert ask(feed, GetFeedStatus).exchange == "binance"
    feed.stop()


def test_a_paper_feed_has_no_book_and_says_why(scheduler):
    feed = MarketFeedActor.start(name="feed:btc", scheduler=scheduler, source=price_list_source(["1"]), symbol="BTC/USDT")

    with pytest.raises(NoOrderBook, match="BTC/USDT is fed by a candle replay or a random walk"):
        ask(feed, GetOrderBook, depth=5)

    status: FeedStatus = ask(feed, GetFeedStatus)
    assert status.exchange is None and feed.is_alive()
