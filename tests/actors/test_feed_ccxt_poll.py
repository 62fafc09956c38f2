"""The `ccxt_poll` feed: real `ccxt.binance` polling a small Binance fake on 127.0.0.1.

The fake (a `CaptureServer`) answers `GET /api/v3/exchangeInfo` and
`GET /api/v3/ticker/24hr` with Binance-shaped JSON; ccxt reaches it through the feed's
`urls = {all = ...}` override, which moves every Binance API URL onto it.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from trading.venues.ccxt_venue.ticker_source import BadTicker, ticker_quote
from actors.conflation import MarketDataReady
from actors.feed import MarketFeedActor, SubscribeMarketData, feed_source
from actors.supervised import SupervisedActor
from config.schema import CcxtPollFeedConfig
from daemon.wiring import WiringError, feed_spec
from tests.capture_server import Answer, Captured, CaptureServer, capture_server
from trading.market_data import TickerUpdated
from tests.waiting import eventually

D = Decimal
SYMBOL = "BTC/USDT"

EXCHANGE_INFO = {
    "timezone": "UTC", "serverTime": 1704067200000, "rateLimits": [], "exchangeFilters": [],
    "symbols": [{
        "symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "baseAssetPrecision": 8,
        "quoteAsset": "USDT", "quotePrecision": 8, "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True, "ocoAllowed": True, "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True, "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000.00", "tickSize": "0.01"},
            {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000.00000000", "stepSize": "0.00001"},
            {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True,
             "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
        ],
        "permissions": [], "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }],
}


class FakeBinance:
    """Answers exchange info, 24h tickers and 1m klines (one fixed candle: candles have
    tests of their own); the price steps on with each ticker served.
    `failing` makes ticker requests fail with a 503 (or whatever `failure` is)."""

    def __init__(self, prices: list[str]) -> None:
        self.prices = prices
        self.served = 0
        self.failing = threading.Event()
        self.failure = Answer(status=503, body={"code": -1001, "msg": "Service unavailable"})

    def answer(self, request: Captured) -> Answer:
        if request.path == "/api/v3/exchangeInfo":
            return Answer(body=EXCHANGE_INFO)
        if request.path == "/api/v3/ticker/24hr" and request.params.get("symbol") == "BTCUSDT":
            if self.failing.is_set():
                return self.failure
            last = self.prices[min(self.served, len(self.prices) - 1)]
            self.served += 1
            return Answer(body=ticker_24hr(last))
        if request.path == "/api/v3/klines" and request.params.get("symbol") == "BTCUSDT":
            return Answer(body=[[1704067200000, "64000.00000000", "65000.00000000", "1.00000000", "64500.00000000",
                                 "1.00000000", 1704067259999, "0", 1, "0", "0", "0"]])
        return Answer(status=404, body={"code": -1100, "msg": f"no route {request.path}"})


def ticker_24hr(last: str) -> dict[str, Any]:
    """Binance's `ticker/24hr` for BTCUSDT: strings with 8 decimals; bid a cent below."""
    bid = D(last) - D("0.01")
    return {
        "symbol": "BTCUSDT", "priceChange": "0.00000000", "priceChangePercent": "0.000",
        "weightedAvgPrice": last, "prevClosePrice": last, "lastPrice": last, "lastQty": "0.00100000",
        "bidPrice": f"{bid:.8f}", "bidQty": "1.00000000", "askPrice": last, "askQty": "1.00000000",
        "openPrice": last, "highPrice": last, "lowPrice": last, "volume": "100.00000000",
        "quoteVolume": "6412345.67800000", "openTime": 1703980800000, "closeTime": 1704067199999,
        "firstId": 1, "lastId": 100, "count": 100,
    }


class Subscriber(SupervisedActor):
    def __init__(self, *, received: queue.Queue[TickerUpdated], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.received = received

    def on_market_data_ready(self, message: MarketDataReady) -> None:
        for ticker in message.outbox.take():
            self.received.put(ticker)


PRICES = ["64123.45678901", "64123.45678902", "0.30000000", "64999.99000000"]


@pytest.fixture
def fake() -> FakeBinance:
    return FakeBinance(PRICES)


@pytest.fixture
def server(fake: FakeBinance) -> Iterator[CaptureServer]:
    with capture_server(fake.answer) as server:
        yield server


def feed_config(server: CaptureServer, **changes: Any) -> CcxtPollFeedConfig:
    fields: dict[str, Any] = {
        "id": "btc", "source": "ccxt_poll", "exchange": "binance", "symbol": SYMBOL,
        "interval_s": 0.1, "max_backoff_s": 0.4, "timeout_s": 2.0, "urls": {"all": server.url},
    }
    fields.update(changes)
    return CcxtPollFeedConfig.model_validate(fields)


def start(scheduler, config: CcxtPollFeedConfig):
    source = feed_source(config)
    feed = MarketFeedActor.start(name="feed:btc", scheduler=scheduler, source=source, symbol=SYMBOL)
    received: queue.Queue[TickerUpdated] = queue.Queue()
    feed.tell(SubscribeMarketData(ref=Subscriber.start(name="subscriber", received=received)))
    return feed, source, received


def test_prices_reach_a_subscriber_as_exact_decimals(scheduler, server, fake):
    feed, source, received = start(scheduler, feed_config(server))

    seen: list[TickerUpdated] = []
    while not seen or seen[-1].last != D("64999.99"):
        seen.append(received.get(timeout=10))

    # Conflation may merge two polls for a slow subscriber; what arrives is exact.
    assert seen[0].last == D("64123.45678901") and type(seen[0].last) is Decimal
    assert {t.last for t in seen} <= {D(p) for p in PRICES}
    last = seen[-1]
    assert (last.symbol, last.bid, last.ask) == (SYMBOL, D("64999.98"), D("64999.99"))
    assert all(type(v) is Decimal for v in (last.last, last.low, last.high, last.bid, last.ask))
    assert source.errors == 0
    # Markets were loaded once, spot only, from the fake.
    assert len(server.to("/api/v3/exchangeInfo")) == 1
    assert all(r.path.startswith("/api/v3/") for r in server.requests)
    assert feed.is_alive()


@pytest.mark.parametrize("failure", [
    Answer(status=503, body={"code": -1001, "msg": "Service unavailable"}),
    Answer(status=500, body={"code": -1000, "msg": "An unknown error occurred"}),
    Answer(status=429, body={"code": -1003, "msg": "Too many requests"}, headers={"Retry-After": "0.3"}),
    Answer(status=200, body={"symbol": "BTCUSDT"}),  # no price at all
], ids=["503", "500", "429", "no-price"])
def test_a_server_error_does_not_kill_the_feed_and_it_recovers(scheduler, server, fake, failure):
    fake.prices = ["100.00000000"]
    feed, source, received = start(scheduler, feed_config(server))
    assert received.get(timeout=10).last == D("100")

    fake.failure = failure
    fake.failing.set()
    eventually(lambda: source.errors >= 3)
    assert feed.is_alive()
    assert source.backoff.failures >= 3
    while not received.empty():
        received.get_nowait()  # whatever got through before the failures began

    fake.prices = ["101.50000000"]
    fake.failing.clear()

    assert received.get(timeout=10).last == D("101.5")
    assert feed.is_alive() and source.backoff.failures == 0
    assert source.last_error is not None


def test_failing_polls_back_off(scheduler, server, fake):
    """While the server fails, polls slow down (doubling up to max_backoff_s)."""
    fake.failing.set()
    feed, source, _ = start(scheduler, feed_config(server, interval_s=0.1, max_backoff_s=0.8))
    time.sleep(2.0)
    failed = len(server.to("/api/v3/ticker/24hr"))
    # Steady polling would make ~20 requests; backing off (0.2, 0.4, 0.8, 0.8...) about 5.
    assert 2 <= failed <= 9
    assert feed.is_alive()


def test_the_interval_is_honoured(scheduler, server, fake):
    fake.prices = ["100.00000000"]
    feed, source, received = start(scheduler, feed_config(server, interval_s=0.25))
    received.get(timeout=10)  # connected: markets loaded, first ticker served
    before = len(server.to("/api/v3/ticker/24hr"))

    time.sleep(2.0)

    polls = len(server.to("/api/v3/ticker/24hr")) - before
    assert 5 <= polls <= 10  # 8 at the exact pace
    assert source.errors == 0 and feed.is_alive()


def test_a_feed_to_an_unreachable_exchange_stays_up(scheduler):
    """Nothing listens on the port: connection refused is a NetworkError, retried."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = CcxtPollFeedConfig.model_validate({
        "id": "btc", "source": "ccxt_poll", "exchange": "binance", "symbol": SYMBOL,
        "interval_s": 0.1, "max_backoff_s": 0.2, "urls": {"all": f"http://127.0.0.1:{port}"},
    })
    feed, source, received = start(scheduler, config)
    eventually(lambda: source.errors >= 2)
    assert feed.is_alive() and received.empty()
    assert source.last_error.startswith("NetworkError: binance GET http://127.0.0.1")


@pytest.mark.parametrize("ticker,expected", [
    ({"last": 64123.45678901, "bid": 64123.45, "ask": None}, (D("64123.45678901"), D("64123.45"), None)),
    ({"last": None, "close": 0.1 + 0.2, "bid": 0.0, "ask": 1e-08}, (D("0.30000000000000004"), None, D("1E-8"))),
])
def test_a_ccxt_ticker_becomes_a_quote_of_decimals(ticker, expected):
    quote = ticker_quote(ticker)
    assert (quote.last, quote.bid, quote.ask) == expected
    assert type(quote.last) is Decimal


@pytest.mark.parametrize("ticker", [{"last": None}, {"last": 0.0}, {"last": "nan"}, {"last": "x"}])
def test_a_ticker_without_a_usable_price_is_a_bad_ticker(ticker):
    with pytest.raises(BadTicker):
        ticker_quote(ticker)


def test_an_unknown_exchange_is_a_wiring_error_at_boot():
    config = CcxtPollFeedConfig.model_validate({
        "id": "btc", "source": "ccxt_poll", "exchange": "nosuchexchange", "symbol": SYMBOL,
    })
    with pytest.raises(WiringError, match="feed 'btc': ccxt has no exchange 'nosuchexchange'"):
        feed_spec(config, scheduler=None, clock=None)
