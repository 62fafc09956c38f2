"""A feed actor's `GetOrderBook`: fetched on its thread from its source's exchange (the
fake Binance), for polled and streamed sources alike; a paper feed refuses clearly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actors.feed import MarketFeedActor, feed_source, price_list_source
from actors.messages import FeedStatus, GetFeedStatus, GetOrderBook
from actors.reply import FutureReply
from config.schema import CcxtPollFeedConfig, CcxtStreamFeedConfig
from tests.fake_exchange.binance import depth_level
from trading.feeds.order_book import NoOrderBook, OrderBook

D = Decimal
SYMBOL = "XRP/USDT"


def ask(feed, message_type, **fields):
    reply = FutureReply()
    feed.tell(message_type(reply=reply, **fields))
    return reply.wait(10)


def expected(depth: int) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    return ([depth_level(D("1.1"), D("0.0001"), "bid", i) for i in range(1, depth + 1)],
            [depth_level(D("1.1"), D("0.0001"), "ask", i) for i in range(1, depth + 1)])


def test_a_polled_feed_fetches_the_book_with_its_own_client(scheduler, fake_binance):
    source = feed_source(CcxtPollFeedConfig.model_validate({
        "id": "xrp", "source": "ccxt_poll", "exchange": "binance", "symbol": SYMBOL,
        "interval_s": 60, "timeout_s": 2.0, "urls": {"all": fake_binance.url},
    }))
    feed = MarketFeedActor.start(name="feed:xrp", scheduler=scheduler, source=source, symbol=SYMBOL)

    book: OrderBook = ask(feed, GetOrderBook, depth=4)

    assert (list(book.bids), list(book.asks)) == expected(4)
    assert ask(feed, GetFeedStatus).exchange == "binance"
    # One client for polls and books: the markets were loaded once.
    assert len(fake_binance.requests_to("GET", "/api/v3/exchangeInfo")) == 1


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
