"""Market data over HTTP: exchanges, paper markets, tickers from the feeds, klines from
the replay files resampled."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.api.trading_api import SYMBOL, TradingApi

XRP_FILE = Path(__file__).resolve().parents[2] / "config" / "examples" / "data" / "XRP-USDT_5m.csv"


@pytest.fixture
def api(engine, scheduler, bus) -> Iterator[TradingApi]:
    api = TradingApi(engine, scheduler, bus, candle_files={"XRP/USDT": XRP_FILE})
    yield api
    api.close()


def expected_hourly(limit: int) -> list[list[object]]:
    """The file's last `limit` hours, computed independently of the code under test."""
    hours: dict[int, list[Decimal]] = {}
    with XRP_FILE.open() as file:
        for row in csv.DictReader(file):
            t = int(row["timestamp_ms"]) // 3_600_000 * 3_600_000
            o, h, l, c, v = (Decimal(row[k]) for k in ("open", "high", "low", "close", "volume"))
            if t in hours:
                bucket = hours[t]
                hours[t] = [bucket[0], max(bucket[1], h), min(bucket[2], l), c, bucket[4] + v]
            else:
                hours[t] = [o, h, l, c, v]
    return [[t, *(format(x, "f") for x in values)] for t, values in sorted(hours.items())[-limit:]]


def test_klines_are_the_candle_file_resampled(api):
    reply = api.call("GET", "/market/klines/XRP-USDT?interval=1h&limit=3", "vera")
    assert reply.status == 200, reply.body
    assert reply.body == {"symbol": "XRP/USDT", "interval": "1h", "data": expected_hourly(3)}
    raw = api.call("GET", "/market/klines/XRP-USDT?interval=5m&limit=1", "vera").body["data"]
    *_, last = list(csv.reader(XRP_FILE.open()))
    assert raw == [[int(last[0]), *last[1:]]]
    multi = api.call("GET", "/market/klines/multi?symbol=XRP-USDT&timeframes=5m,1h&limit=3", "vera").body
    assert multi["data"]["1h"] == expected_hourly(3) and len(multi["data"]["5m"]) == 3
    finer = api.call("GET", "/market/klines/XRP-USDT?interval=1m", "vera")
    assert (finer.status, finer.body["code"]) == (422, "VALIDATION_ERROR")
    missing = api.call("GET", "/market/klines/BTC-USDT", "vera")
    assert (missing.status, missing.body["code"]) == (404, "NOT_FOUND")


def test_tickers_come_from_the_feeds(api):
    assert api.call("GET", "/market/ticker/BTC-USDT", "vera").status == 404  # no price yet
    api.price("50000.5")
    ticker = api.call("GET", "/market/ticker/BTC-USDT", "vera").body
    assert (ticker["symbol"], ticker["last"], ticker["feed"], ticker["high_24h"]) == (SYMBOL, "50000.5", "btc", None)
    assert isinstance(ticker["timestamp"], int)
    tickers = api.call("GET", "/market/tickers?symbols=BTC/USDT,ETH/USDT", "vera").body
    assert [item["symbol"] for item in tickers["items"]] == [SYMBOL]


def test_exchanges_and_their_markets(api):
    exchanges = api.call("GET", "/exchanges", "vera").body
    by_id = {item["id"]: item for item in exchanges["items"]}
    assert by_id["paper"]["has"]["createOrder"] is True
    assert by_id["binance"]["has"]["fetchOHLCV"] is True and by_id["binance"]["name"] == "Binance"
    markets = api.call("GET", "/exchanges/paper/markets", "vera").body
    btc = next(item for item in markets["items"] if item["symbol"] == SYMBOL)
    assert (btc["tick_size"], btc["step_size"], btc["min_notional"]) == ("0.01", "0.00001", "5")
    unloaded = api.call("GET", "/exchanges/binance/markets", "vera")
    assert unloaded.status == 404 and "has not loaded" in unloaded.body["message"]
    assert api.call("GET", "/exchanges/nosuch/markets", "vera").status == 404
    assert api.server.request("GET", "/api/v1/exchanges").status == 401
