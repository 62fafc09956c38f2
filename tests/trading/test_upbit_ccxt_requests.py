"""The requests real `ccxt.upbit` builds for our orders, captured on 127.0.0.1.

ccxt's `urls['api']` points at a `CaptureServer` (a URL override ccxt supports), which
records each request and answers with Upbit-shaped JSON. Capturing at the HTTP level
rather than overriding `fetch` keeps all of ccxt's own work in the test: request building,
`sign()` with its JWT and query hash, the HTTP client, and parsing Upbit's answers.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal

import ccxt
import jwt
import pytest

from tests.capture_server import Answer, Captured, CaptureServer, capture_server
from trading.markets import Market, OrderRuleViolation, Side
from trading.money import plain
from trading.venues.upbit_rules import instrument_tick_size, upbit_market

D = Decimal
ACCESS_KEY = "test-access-key"
SECRET = "test-secret-key-of-32-bytes-long!!"
CID = "td-7f3a-000123"

MARKETS = [
    {"market": "KRW-BTC", "korean_name": "비트코인", "english_name": "Bitcoin"},
    {"market": "KRW-XRP", "korean_name": "리플", "english_name": "XRP"},
    {"market": "BTC-ETH", "korean_name": "이더리움", "english_name": "Ethereum"},
]
CHANCE = {
    "bid_fee": "0.0005", "ask_fee": "0.0005",
    "market": {
        "id": "KRW-BTC", "name": "BTC/KRW", "order_types": ["limit"], "order_sides": ["ask", "bid"],
        "bid": {"currency": "KRW", "price_unit": None, "min_total": 5000},
        "ask": {"currency": "BTC", "price_unit": None, "min_total": 5000},
        "max_total": "1000000000.0", "state": "active",
    },
    "bid_account": {"currency": "KRW", "balance": "1000000.0", "locked": "0.0", "avg_buy_price": "0",
                    "avg_buy_price_modified": False, "unit_currency": "KRW"},
    "ask_account": {"currency": "BTC", "balance": "0.0", "locked": "0.0", "avg_buy_price": "0",
                    "avg_buy_price_modified": False, "unit_currency": "KRW"},
}
INSTRUMENTS = [{"market": "KRW-BTC", "quote_currency": "KRW", "tick_size": "1000",
                "supported_levels": ["0", "10000", "100000"]}]
TICKER = [{"market": "KRW-BTC", "trade_date": "20240101", "trade_time": "000000", "trade_timestamp": 1704067200000,
           "opening_price": 150000000, "high_price": 151000000, "low_price": 149000000,
           "trade_price": 150123000, "prev_closing_price": 150000000, "change": "RISE",
           "acc_trade_volume_24h": 1234.5, "acc_trade_price_24h": 185000000000, "timestamp": 1704067200123}]


def upbit_answer(request: Captured) -> Answer:
    """Upbit's answers, enough for markets, chance, instruments, ticker and new orders."""
    if request.path == "/v1/market/all":
        return Answer(body=MARKETS)
    if request.path == "/v1/orders/chance":
        return Answer(body=CHANCE)
    if request.path == "/v1/orderbook/instruments":
        return Answer(body=INSTRUMENTS)
    if request.path == "/v1/ticker":
        return Answer(body=TICKER)
    if request.method == "POST" and request.path == "/v1/orders":
        order = request.json()
        return Answer(status=201, body={
            "uuid": str(uuid.uuid4()), "side": order["side"], "ord_type": order["ord_type"],
            "price": order.get("price"), "state": "wait", "market": order["market"],
            "created_at": "2024-01-01T09:00:00+09:00", "volume": order.get("volume"),
            "remaining_volume": order.get("volume"), "reserved_fee": "0", "remaining_fee": "0",
            "paid_fee": "0", "locked": "0", "executed_volume": "0", "trades_count": 0,
            "identifier": order.get("identifier"),
        })
    return Answer(status=404, body={"error": {"name": "not_found", "message": request.path}})


@pytest.fixture
def server() -> Iterator[CaptureServer]:
    with capture_server(upbit_answer) as server:
        yield server


@pytest.fixture
def upbit(server: CaptureServer) -> ccxt.upbit:
    exchange = ccxt.upbit({
        "apiKey": ACCESS_KEY,
        "secret": SECRET,
        "urls": {"api": {"public": server.url, "private": server.url}},
        "options": {"maxRetriesOnFailure": 0},
        "timeout": 5000,
    })
    exchange.session.trust_env = False  # no proxy variable may capture loopback
    exchange.load_markets()
    return exchange


def btc_krw(upbit: ccxt.upbit, price: Decimal) -> Market:
    """Our market for KRW-BTC: minimum from `orders/chance`, tick from `orderbook/instruments`."""
    chance = upbit.fetch_market("BTC/KRW")
    instruments = upbit.public_get_orderbook_instruments({"markets": "KRW-BTC"})
    return upbit_market(chance, price, tick_size=instrument_tick_size(instruments, "KRW-BTC"))


def the_order(server: CaptureServer) -> Captured:
    (posted,) = [r for r in server.requests if r.method == "POST" and r.path == "/v1/orders"]
    return posted


def verified_claims(request: Captured, auth_query: str) -> dict:
    """The JWT's claims, checked as Upbit checks them: HS256 with the secret, our access
    key, a nonce, and the SHA-512 of the request's parameters as a query string."""
    scheme, token = request.headers["Authorization"].split(" ", 1)
    assert scheme == "Bearer"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["access_key"] == ACCESS_KEY and claims["nonce"]
    assert claims["query_hash_alg"] == "SHA512"
    assert claims["query_hash"] == hashlib.sha512(auth_query.encode()).hexdigest()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "another-secret-of-32-bytes-long!!!", algorithms=["HS256"])
    return claims


def body_as_query(request: Captured) -> str:
    """A JSON body's parameters as Upbit hashes them: `k=v&...` in the body's order."""
    return "&".join(f"{key}={value}" for key, value in json.loads(request.body).items())


# -- markets and rules -------------------------------------------------------------------


def test_ccxt_upbit_markets_carry_no_tick_and_no_minimum(upbit):
    """Why `upbit_rules` exists (CCXT.md): ccxt's precision is 1e-8 and its limits empty."""
    market = upbit.market("BTC/KRW")
    assert market["id"] == "KRW-BTC" and market["precision"]["price"] == 1e-08
    assert market["limits"]["cost"]["min"] is None


def test_the_rules_come_from_chance_and_instruments(upbit, server):
    market = btc_krw(upbit, D("150123000"))
    assert (market.symbol, market.tick_size, market.min_notional) == ("BTC/KRW", D("1000"), D("5000"))
    (chance,) = server.to("/v1/orders/chance")
    assert chance.params == {"market": "KRW-BTC"}
    verified_claims(chance, "market=KRW-BTC")
    (instruments,) = server.to("/v1/orderbook/instruments")
    assert instruments.params == {"markets": "KRW-BTC"} and "Authorization" not in instruments.headers


def test_the_ticker_price_reaches_us_exactly(upbit):
    ticker = upbit.fetch_ticker("BTC/KRW")
    assert D(str(ticker["last"])) == D("150123000")


# -- orders ------------------------------------------------------------------------------


@pytest.mark.parametrize("id_param", ["clientOrderId", "identifier"])
def test_limit_buy_carries_upbits_parameters_and_our_client_id(upbit, server, id_param):
    """ccxt sends `clientOrderId` as Upbit's `identifier` (an `identifier` param passes
    through unchanged); the price and volume are the strings we quantized."""
    market = btc_krw(upbit, D("150123456.789"))
    price = market.price_to_tick(D("150123456.789"), Side.BUY)
    amount = market.amount_to_step(D("50000") / price)
    market.check_order(Side.BUY, price, amount)

    order = upbit.create_order("BTC/KRW", "limit", "buy", plain(amount), plain(price), {id_param: CID})

    request = the_order(server)
    assert request.headers["Content-Type"] == "application/json" and request.query == ""
    assert request.json() == {
        "market": "KRW-BTC", "side": "bid", "ord_type": "limit",
        "price": "150123000", "volume": "0.00033306", "identifier": CID,
    }
    verified_claims(request, body_as_query(request))
    assert order["clientOrderId"] == CID and order["status"] == "open"


def test_limit_sell_rounds_up_to_the_tick(upbit, server):
    market = btc_krw(upbit, D("150123000.5"))
    price = market.price_to_tick(D("150123000.5"), Side.SELL)
    upbit.create_order("BTC/KRW", "limit", "sell", "0.001", plain(price), {"clientOrderId": CID})
    body = the_order(server).json()
    assert (body["side"], body["ord_type"], body["price"], body["volume"]) == ("ask", "limit", "150124000", "0.001")


def test_market_buy_spends_a_cost_with_ord_type_price(upbit, server):
    """CCXT.md: an Upbit market buy is `ord_type=price` with the KRW to spend, no volume."""
    upbit.create_order("BTC/KRW", "market", "buy", None, None, {"clientOrderId": CID, "cost": plain(D("10000"))})
    request = the_order(server)
    assert request.json() == {"market": "KRW-BTC", "side": "bid", "ord_type": "price", "price": "10000", "identifier": CID}
    verified_claims(request, body_as_query(request))


def test_market_sell_sends_the_volume_with_ord_type_market(upbit, server):
    upbit.create_order("BTC/KRW", "market", "sell", "0.00033306", None, {"clientOrderId": CID})
    assert the_order(server).json() == {
        "market": "KRW-BTC", "side": "ask", "ord_type": "market", "volume": "0.00033306", "identifier": CID,
    }


@pytest.mark.parametrize("symbol,side,raw,wire", [
    ("XRP/KRW", Side.BUY, "1.0000000001", "1"),
    ("XRP/KRW", Side.SELL, "1.0000000001", "1.01"),
    ("XRP/KRW", Side.BUY, str(0.1 + 0.2), "0.3"),  # float arithmetic's 0.30000000000000004
    ("XRP/KRW", Side.SELL, "812.3", "813"),
    ("BTC/KRW", Side.BUY, "1999999.5", "1999000"),
    ("BTC/KRW", Side.SELL, "999999", "1000000"),
])
def test_the_request_carries_the_band_tick_price_without_float_artefacts(upbit, server, symbol, side, raw, wire):
    """Quantized by the band table (offline fallback) before ccxt sees it; ccxt itself only
    rounds to 1e-8, so without this it would send an off-tick price Upbit refuses."""
    market = upbit_market(upbit.market(symbol), D(raw))
    price = market.price_to_tick(D(raw), side)
    upbit.create_order(symbol, "limit", side.value, "10000", plain(price), {"clientOrderId": CID})
    assert the_order(server).json()["price"] == wire


def test_ccxt_alone_would_send_an_off_tick_price(upbit, server):
    """The behaviour the quantizing guards against (a ccxt that learns ticks fails this)."""
    upbit.create_order("BTC/KRW", "limit", "buy", "0.001", "150123456.7", {"clientOrderId": CID})
    assert the_order(server).json()["price"] == "150123456.7"


def test_an_order_under_5000_krw_never_reaches_ccxt(upbit, server):
    market = btc_krw(upbit, D("150000000"))
    with pytest.raises(OrderRuleViolation) as caught:
        market.check_order(Side.BUY, D("150000000"), D("0.00003333"))
    assert caught.value.code == "BELOW_MIN_NOTIONAL"
    assert not [r for r in server.requests if r.method == "POST"]
