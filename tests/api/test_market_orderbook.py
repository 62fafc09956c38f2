"""`GET /market/orderbook/{symbol}` end to end: a real API server asks real feed actors,
whose real `ccxt.binance` clients fetch from the fake Binance on 127.0.0.1; a paper
feed (a price list, as a replay would be) has no book and says so."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from actors.directory import ActorDirectory
from actors.feed import MarketFeedActor, feed_source, price_list_source
from api.bridge import ActorGateway
from config.schema import CcxtPollFeedConfig
from tests.api.auth_helpers import access_token, add_user, call_as, serve
from tests.api.conftest import LiveServer, Response
from tests.fake_exchange.binance import FakeBinanceServer, depth_level

D = Decimal
LAST = D("1.1000")  # the fake's XRP/USDT price (tests/fake_exchange/fixtures.py)
TICK = D("0.0001")
DEPTH_PATH = "/api/v3/depth"


@dataclass
class Market:
    server: LiveServer
    fake: FakeBinanceServer
    token: str
    directory: ActorDirectory

    def book(self, path: str) -> Response:
        return call_as(self.server, "GET", f"/api/v1/market/orderbook/{path}", self.token)

    def depth_requests(self) -> list[dict[str, str]]:
        return [r.params for r in self.fake.requests_to("GET", DEPTH_PATH)]


def poll_feed(symbol: str, fake: FakeBinanceServer) -> Any:
    """A `ccxt_poll` feed on the fake that polls rarely: the tests ask for books, not prices."""
    return feed_source(CcxtPollFeedConfig.model_validate({
        "id": symbol.split("/")[0].lower(), "source": "ccxt_poll", "exchange": "binance", "symbol": symbol,
        "interval_s": 60, "timeout_s": 2.0, "urls": {"all": fake.url},
    }))


@pytest.fixture
def market(engine, scheduler, fake_binance) -> Iterator[Market]:
    directory = ActorDirectory()
    feeds = {
        "xrp": ("XRP/USDT", poll_feed("XRP/USDT", fake_binance)),
        "doge": ("DOGE/USDT", poll_feed("DOGE/USDT", fake_binance)),  # a symbol the exchange does not list
        "btc": ("BTC/USDT", price_list_source(["50000"])),  # a paper feed, as a replay or random walk is
    }
    for feed_id, (symbol, source) in feeds.items():
        name = f"feed:{feed_id}"
        directory.register(name, MarketFeedActor.start(name=name, scheduler=scheduler, source=source, symbol=symbol))
    gateway = ActorGateway(
        tell=directory.tell, tell_supervisor=lambda message: False,
        feeds={feed_id: f"feed:{feed_id}" for feed_id in feeds},
    )
    add_user(engine, "vera", "viewer")
    server = serve(engine, actors=gateway)
    try:
        yield Market(server, fake_binance, access_token(server, "vera"), directory)
    finally:
        server.close()


def expected_side(side: str, depth: int) -> list[tuple[Decimal, Decimal]]:
    return [depth_level(LAST, TICK, side, level) for level in range(1, depth + 1)]


def decimals(levels: list[list[str]]) -> list[tuple[Decimal, Decimal]]:
    assert all(isinstance(value, str) for level in levels for value in level), levels  # money is a string
    return [(D(price), D(amount)) for price, amount in levels]


def test_the_book_is_the_exchanges_best_first_and_exact(market):
    reply = market.book("XRP-USDT?depth=5")

    assert reply.status == 200, reply.body
    body = reply.body
    assert (body["symbol"], body["exchange"], body["feed"]) == ("XRP/USDT", "binance", "xrp")
    assert decimals(body["bids"]) == expected_side("bid", 5)
    assert decimals(body["asks"]) == expected_side("ask", 5)
    assert body["bids"][0] == ["1.0999", "1.25"]  # floats from ccxt went through str: no binary noise
    prices = [D(price) for price, _ in body["bids"]], [D(price) for price, _ in body["asks"]]
    assert prices[0] == sorted(prices[0], reverse=True) and prices[1] == sorted(prices[1])
    assert abs(body["timestamp"] - time.time() * 1000) < 60_000
    assert market.depth_requests() == [{"symbol": "XRPUSDT", "limit": "5"}]


def test_depth_defaults_to_20_and_bounds_each_side(market):
    body = market.book("XRP%2FUSDT").body  # the unified symbol, percent-encoded
    assert len(body["bids"]) == len(body["asks"]) == 20
    assert decimals(body["asks"]) == expected_side("ask", 20)
    assert market.book("XRP-USDT?depth=1000&exchange=binance").status == 200
    assert [params["limit"] for params in market.depth_requests()] == ["20", "1000"]


def test_readers_within_a_second_share_one_exchange_request(market):
    first = market.book("XRP-USDT?depth=20")
    second = market.book("XRP-USDT?depth=20")
    shallower = market.book("XRP-USDT?depth=3")

    assert first.status == second.status == shallower.status == 200
    assert second.body == first.body
    assert shallower.body["bids"] == first.body["bids"][:3]
    assert len(market.depth_requests()) == 1

    deeper = market.book("XRP-USDT?depth=50")  # more levels than the kept book has
    assert len(deeper.body["asks"]) == 50 and len(market.depth_requests()) == 2

    time.sleep(1.1)  # past the cache's second
    assert market.book("XRP-USDT?depth=3").status == 200
    assert len(market.depth_requests()) == 3


def test_a_paper_fed_symbol_has_no_book(market):
    reply = market.book("BTC-USDT")

    assert reply.status == 404
    assert reply.body["code"] == "NOT_FOUND"
    assert "replay or a random walk" in reply.body["message"] and "BTC/USDT" in reply.body["message"]
    assert reply.body["details"] == {"feeds": {"btc": None}}
    assert market.depth_requests() == []


def test_unknown_symbols_and_exchanges_are_404(market):
    unknown = market.book("SOL-USDT")
    assert (unknown.status, unknown.body["code"]) == (404, "NOT_FOUND")
    elsewhere = market.book("XRP-USDT?exchange=kraken")
    assert (elsewhere.status, elsewhere.body["code"]) == (404, "NOT_FOUND")
    assert elsewhere.body["message"] == "no feed reads XRP/USDT from kraken"
    assert market.depth_requests() == []


def test_an_exchange_that_fails_is_503_and_the_outage_is_remembered_a_second(market):
    market.fake.faults.only_paths = (DEPTH_PATH,)  # the book's client loads its markets, then fails
    market.fake.fail(1.0, ("503",))

    reply = market.book("XRP-USDT")
    again = market.book("XRP-USDT")

    assert reply.status == 503
    assert reply.body["code"] == "EXCHANGE_UNAVAILABLE"
    assert set(reply.body) == {"code", "message", "details"}
    assert "binance did not answer (ExchangeNotAvailable)" in reply.body["message"]
    assert "127.0.0.1" not in reply.body["message"]  # no URLs or exchange bodies leak
    assert again.status == 503 and len(market.depth_requests()) == 1

    market.fake.heal()
    time.sleep(1.1)
    assert market.book("XRP-USDT").status == 200


def test_an_exchange_that_is_down_is_503(market):
    market.fake.stop()

    reply = market.book("XRP-USDT")

    assert (reply.status, reply.body["code"]) == (503, "EXCHANGE_UNAVAILABLE")


def test_an_exchange_that_refuses_is_502(market):
    reply = market.book("DOGE-USDT")

    assert (reply.status, reply.body["code"]) == (502, "EXCHANGE_ERROR")
    assert reply.body["message"] == "binance refused the order book of DOGE/USDT (BadSymbol)"


def test_a_stopped_feed_is_503_not_a_missing_symbol(market):
    market.directory.get("feed:xrp").stop()

    reply = market.book("XRP-USDT")

    assert (reply.status, reply.body["code"]) == (503, "ACTOR_UNAVAILABLE")
    assert "xrp" in reply.body["message"]
    assert market.book("BTC-USDT").body["code"] == "NOT_FOUND"  # the others still answer


@pytest.mark.parametrize("query", ["depth=0", "depth=1001", "depth=ten", "deep=5"])
def test_a_bad_query_is_422(market, query):
    reply = market.book(f"XRP-USDT?{query}")

    assert (reply.status, reply.body["code"]) == (422, "VALIDATION_ERROR")
    assert reply.body["details"]["errors"][0]["loc"][0] == "query"
    assert market.depth_requests() == []


def test_the_route_is_in_the_openapi_document(market):
    document = market.server.request("GET", "/api/v1/openapi.json").body
    operation = document["paths"]["/api/v1/market/orderbook/{symbol}"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"symbol", "depth", "exchange"}
    assert {"404", "422", "502", "503"} <= set(operation["responses"])
    assert "NOT_FOUND" in operation["responses"]["404"]["description"]
