"""`/market/klines` for a symbol a `ccxt_poll` feed carries: the exchange's 1m candles the
feed keeps (a real ccxt feed on the fake Binance), resampled; no replay file involved."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from actors.feed import FeedSubscriptions, MarketFeedActor, feed_source
from actors.messages import FeedCandles, GetFeedCandles
from actors.reply import FutureReply
from actors.risk import exchange_name
from actors.supervisor import ChildSpec
from api.app import make_app
from api.auth.tokens import TokenIssuer
from api.bridge import ActorGateway
from api.context import ApiContext
from config.schema import CcxtPollFeedConfig
from tests.actors.trading_stack import ACCOUNT
from tests.api.auth_helpers import SECRET
from tests.api.conftest import LiveServer
from tests.api.trading_api import TradingApi
from tests.waiting import eventually

T0 = 1_704_067_200_000  # 00:00 UTC, the open of an hour
MINUTE = 60_000


class LiveFeedApi(TradingApi):
    """`TradingApi` plus a `ccxt_poll` feed of XRP/USDT on the fake Binance."""

    def __init__(self, engine: Any, scheduler: Any, bus: Any, rest: Any) -> None:
        self.rest = rest
        super().__init__(engine, scheduler, bus)

    def serve(self) -> LiveServer:
        config = CcxtPollFeedConfig.model_validate({
            "id": "xrp", "source": "ccxt_poll", "exchange": "binance", "symbol": "XRP/USDT",
            "interval_s": 0.1, "candle_interval_s": 0.1, "timeout_s": 2.0, "urls": {"all": self.rest.url},
        })
        self.stack.start(ChildSpec("feed:xrp", MarketFeedActor, {
            "scheduler": self.stack.scheduler, "source": feed_source(config), "symbol": "XRP/USDT",
            "subscriptions": FeedSubscriptions(),
        }))
        gateway = ActorGateway(
            tell=self.stack.directory.tell, tell_supervisor=lambda message: False,
            exchanges={ACCOUNT: exchange_name(ACCOUNT)}, feeds={"btc": self.feed, "xrp": "feed:xrp"},
        )
        context = ApiContext(
            version="9.9.9", engine=self.engine, tokens=TokenIssuer(SECRET), actors=gateway,
            markets={ACCOUNT: self.stack.markets},
        )
        return LiveServer(make_app(context))

    def kept(self) -> int:
        reply = FutureReply()
        self.stack.directory.tell("feed:xrp", GetFeedCandles(reply=reply))
        answer: FeedCandles = reply.wait(10)
        return len(answer.candles)


@pytest.fixture
def api(engine, scheduler, bus, fake_binance) -> Iterator[LiveFeedApi]:
    # Seven minutes, 00:00 to 00:06 UTC; the last still open.
    for i, (o, h, low, c) in enumerate([
        ("1.10", "1.12", "1.09", "1.11"), ("1.11", "1.15", "1.10", "1.14"), ("1.14", "1.14", "1.05", "1.06"),
        ("1.06", "1.08", "1.06", "1.07"), ("1.07", "1.09", "1.07", "1.09"), ("1.09", "1.10", "1.08", "1.10"),
        ("1.10", "1.10", "1.10", "1.10"),
    ]):
        fake_binance.engine.set_candle("XRPUSDT", T0 + i * MINUTE, o, h, low, c, f"{i + 1}.5")
    api = LiveFeedApi(engine, scheduler, bus, fake_binance)
    eventually(lambda: api.kept() == 7, what="the backfill")
    yield api
    api.close()


def test_klines_of_a_ccxt_feed_are_its_exchange_candles(api, fake_binance):
    one = api.call("GET", "/market/klines/XRP-USDT?interval=1m&limit=2", "vera")
    assert one.status == 200, one.body
    assert one.body == {"symbol": "XRP/USDT", "interval": "1m", "data": [
        [T0 + 5 * MINUTE, "1.09", "1.1", "1.08", "1.1", "6.5"], [T0 + 6 * MINUTE, "1.1", "1.1", "1.1", "1.1", "7.5"],
    ]}
    five = api.call("GET", "/market/klines/XRP-USDT?interval=5m", "vera").body
    assert five["data"] == [
        [T0, "1.1", "1.15", "1.05", "1.09", "17.5"], [T0 + 5 * MINUTE, "1.09", "1.1", "1.08", "1.1", "14.0"],
    ]

    # The open candle moves on at the exchange: the next poll brings it, the API serves it.
    fake_binance.engine.set_candle("XRPUSDT", T0 + 6 * MINUTE, "1.10", "1.13", "1.02", "1.12", "9")
    eventually(lambda: api.call("GET", "/market/klines/XRP-USDT?interval=1m&limit=1", "vera").body["data"]
               == [[T0 + 6 * MINUTE, "1.1", "1.13", "1.02", "1.12", "9.0"]], what="the live candle")
    hour = api.call("GET", "/market/klines/XRP-USDT?interval=1h", "vera").body["data"]
    assert hour == [[T0, "1.1", "1.15", "1.02", "1.12", "33.0"]]
    multi = api.call("GET", "/market/klines/multi?symbol=XRP-USDT&timeframes=1m,15m&limit=1", "vera").body
    assert multi["data"]["15m"] == hour and len(multi["data"]["1m"]) == 1
    # A symbol no feed carries candles of (the BTC feed is a price list) is still 404.
    missing = api.call("GET", "/market/klines/BTC-USDT", "vera")
    assert (missing.status, missing.body["code"]) == (404, "NOT_FOUND")
