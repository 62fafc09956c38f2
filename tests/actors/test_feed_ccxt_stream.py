"""The `ccxt_stream` feed: real ccxt.pro `binance.watch_ticker` against fakes on 127.0.0.1.

Markets come over REST from the fake Binance (`fake_binance`, `urls.all`), tickers over a
websocket from the fake stream server (`tests/fake_exchange/binance_ws.py`, `urls.ws`).
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
from decimal import Decimal
from typing import Any

import ccxt.pro as ccxtpro
import pytest

from actors.conflation import MarketDataReady
from actors.feed import MarketFeedActor, SubscribeMarketData, feed_source
from actors.supervised import SupervisedActor
from config.schema import CcxtStreamFeedConfig
from daemon.wiring import WiringError, feed_spec
from tests.fake_exchange.binance_ws import FakeBinanceStreams
from tests.waiting import eventually
from trading.clock import SYSTEM_CLOCK
from trading.market_data import TickerUpdated
from trading.venues.ccxt_venue.stream_source import CcxtStreamSource
from trading.venues.ccxt_venue.urls import overridden_urls

D = Decimal
SYMBOL = "XRP/USDT"


class Subscriber(SupervisedActor):
    def __init__(self, *, received: queue.Queue[TickerUpdated], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.received = received

    def on_market_data_ready(self, message: MarketDataReady) -> None:
        for ticker in message.outbox.take():
            self.received.put(ticker)


def feed_config(rest: Any, streams: FakeBinanceStreams, **changes: Any) -> CcxtStreamFeedConfig:
    """Tickers only (these tests count sockets and subscriptions); candles have their own tests."""
    fields: dict[str, Any] = {
        "id": "xrp", "source": "ccxt_stream", "exchange": "binance", "symbol": SYMBOL,
        "reconnect_s": 0.1, "max_backoff_s": 0.5, "timeout_s": 2.0,
        "urls": {"all": rest.url, "ws": streams.url}, "candles": False,
    }
    fields.update(changes)
    return CcxtStreamFeedConfig.model_validate(fields)


def start(scheduler, config: CcxtStreamFeedConfig):
    source = feed_source(config)
    assert isinstance(source, CcxtStreamSource)
    feed = MarketFeedActor.start(name="feed:xrp", scheduler=scheduler, source=source, symbol=SYMBOL)
    received: queue.Queue[TickerUpdated] = queue.Queue()
    feed.tell(SubscribeMarketData(ref=Subscriber.start(name="subscriber", received=received)))
    return feed, source, received


def next_price(received: queue.Queue[TickerUpdated], price: str, timeout: float = 10.0) -> TickerUpdated:
    """The first ticker at `price` (earlier ones may still be queued)."""
    while True:
        ticker = received.get(timeout=timeout)
        if ticker.last == D(price):
            return ticker


def stream_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.endswith("-stream") and t.is_alive()]


def test_prices_reach_a_subscriber_as_exact_decimals(scheduler, fake_binance, streams):
    streams.set_price("XRPUSDT", "1.23456789", bid="1.23456788", ask="1.23456790")
    feed, source, received = start(scheduler, feed_config(fake_binance, streams))

    ticker = next_price(received, "1.23456789")
    assert ticker.symbol == SYMBOL
    assert (ticker.bid, ticker.ask) == (D("1.23456788"), D("1.2345679"))
    assert all(type(v) is Decimal for v in (ticker.last, ticker.low, ticker.high, ticker.bid, ticker.ask))

    streams.set_price("XRPUSDT", "0.00012345")
    assert next_price(received, "0.00012345").last == D("0.00012345")
    # ccxt.pro subscribed to Binance's full ticker stream, markets came over REST once.
    assert streams.subscribe_requests[0] == ["xrpusdt@ticker"]
    assert len(fake_binance.requests_to("GET", "/api/v3/exchangeInfo")) == 1
    assert source.errors == 0 and feed.is_alive()


def test_a_dropped_connection_reconnects_with_backoff_and_prices_resume(scheduler, fake_binance, streams):
    streams.set_price("XRPUSDT", "1.1000")
    feed, source, received = start(scheduler, feed_config(fake_binance, streams))
    next_price(received, "1.1")
    assert streams.connects == 1

    streams.refuse_for(0.6)  # the redials fail for a while: the stream backs off
    streams.drop_connections()
    eventually(lambda: source.errors >= 2, what="failed reconnects")
    assert feed.is_alive()

    streams.set_price("XRPUSDT", "1.2345")
    assert next_price(received, "1.2345").last == D("1.2345")
    assert streams.connects >= 2 and len(streams.subscribe_requests) >= 2
    assert source.backoff.failures == 0 and source.last_error is not None
    # Backing off (0.1, 0.2, 0.4 ... with jitter), not redialling in a tight loop.
    assert source.errors <= 8


def test_stopping_the_feed_closes_the_client_and_the_thread(scheduler, fake_binance, streams):
    streams.set_price("XRPUSDT", "1.1000")
    feed, source, received = start(scheduler, feed_config(fake_binance, streams))
    next_price(received, "1.1")
    assert len(stream_threads()) == 1 and streams.subscribed() == 1

    feed.stop()

    assert stream_threads() == []
    eventually(lambda: streams.subscribed() == 0, what="the websocket closing")
    # A restarted feed (same source, as the supervisor does) streams again.
    feed, _, received = start(scheduler, feed_config(fake_binance, streams))
    streams.set_price("XRPUSDT", "1.3000")
    assert next_price(received, "1.3").last == D("1.3")
    feed.stop()
    assert stream_threads() == []


def without_watch_ohlcv(source: CcxtStreamSource) -> None:
    """Its clients are Binance's, less candle streams, as on an exchange ccxt.pro cannot
    stream candles from: `has` says so, and `watch_ohlcv` is ccxt's NotSupported."""
    make = source._client

    def client() -> Any:
        made = make()
        made.has["watchOHLCV"] = False
        made.watch_ohlcv = functools.partial(ccxtpro.Exchange.watch_ohlcv, made)
        return made

    source._client = client  # type: ignore[method-assign]


def test_an_exchange_without_candle_streams_streams_tickers_only(scheduler, fake_binance, streams, caplog):
    streams.set_price("XRPUSDT", "1.1000")
    config = feed_config(fake_binance, streams, candles=True)
    source = feed_source(config)
    without_watch_ohlcv(source)
    caplog.set_level(logging.INFO, logger="trading.venues.ccxt_venue.stream_source")

    for price in ("1.2", "1.3"):  # a restart (the same source) does not say it again
        feed = MarketFeedActor.start(name="feed:xrp", scheduler=scheduler, source=source, symbol=SYMBOL)
        received: queue.Queue[TickerUpdated] = queue.Queue()
        feed.tell(SubscribeMarketData(ref=Subscriber.start(name="subscriber", received=received)))
        streams.set_price("XRPUSDT", price)
        next_price(received, price)
        feed.stop()

    said = [r for r in caplog.records if "no watchOHLCV" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.WARNING
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert source.errors == 0 and source.candle_backoff.failures == 0 and not source.candles
    assert fake_binance.requests_to("GET", "/api/v3/klines") == []  # no backfill for candles that never come


def test_candle_failures_are_not_the_tickers_errors(scheduler, fake_binance, streams):
    fake_binance.faults.only_paths = ("/api/v3/klines",)
    fake_binance.fail(1.0, ("503",))
    streams.set_price("XRPUSDT", "1.1000")
    feed, source, received = start(scheduler, feed_config(fake_binance, streams, candles=True))

    eventually(lambda: source.candle_backoff.failures >= 1, what="the candle backfill failing")
    streams.set_price("XRPUSDT", "1.2000")
    next_price(received, "1.2")

    assert source.errors == 0 and source.backoff.failures == 0
    assert source.last_error is not None and "ExchangeNotAvailable" in source.last_error
    feed.stop()


def test_a_stream_feed_is_wired_from_config(fake_binance, streams, scheduler):
    spec = feed_spec(feed_config(fake_binance, streams), scheduler, SYSTEM_CLOCK)
    assert isinstance(spec.kwargs["source"], CcxtStreamSource)
    with pytest.raises(WiringError, match="no streaming exchange"):
        feed_spec(feed_config(fake_binance, streams, exchange="nosuchexchange"), scheduler, SYSTEM_CLOCK)
    with pytest.raises(WiringError, match="urls.ws"):
        feed_spec(feed_config(fake_binance, streams, urls={"ws": "http://127.0.0.1:1"}), scheduler, SYSTEM_CLOCK)


def test_urls_ws_rehosts_every_websocket_url_after_all():
    urls = {"api": {"public": "https://api.binance.com/api/v3", "ws": {"spot": "wss://stream.binance.com:9443/ws"}},
            "test": {"ws": {"spot": "wss://stream.testnet.binance.vision/ws"}}}
    moved = overridden_urls(urls, {"all": "http://127.0.0.1:1", "ws": "ws://127.0.0.1:2/"})
    assert moved["api"] == {"public": "http://127.0.0.1:1/api/v3", "ws": {"spot": "ws://127.0.0.1:2/ws"}}
    assert moved["test"]["ws"] == {"spot": "ws://127.0.0.1:2/ws"}
    assert urls["api"]["ws"]["spot"].startswith("wss://stream.binance.com")  # the input is left alone
