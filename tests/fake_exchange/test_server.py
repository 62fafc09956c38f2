"""The fake Binance itself, over plain HTTP: signatures, client ids, matching, faults."""

from __future__ import annotations

import hashlib
import hmac
import time
from decimal import Decimal
from urllib.parse import urlencode

import pytest
import requests

from tests.fake_exchange.binance import API_KEY, API_SECRET, FakeBinanceServer
from tests.fake_exchange.binance_engine import Engine

D = Decimal


def signed(server: FakeBinanceServer | str, method: str, path: str, params: dict[str, str], *,
           secret: str = API_SECRET, key: str = API_KEY) -> requests.Response:
    """A signed request as Binance's docs describe it (not through ccxt)."""
    base = server if isinstance(server, str) else server.url
    query = urlencode({**params, "timestamp": str(int(time.time() * 1000))})
    signature = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    body = f"{query}&signature={signature}"
    headers = {"X-MBX-APIKEY": key}
    if method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return requests.post(base + path, data=body, headers=headers, timeout=5)
    return requests.request(method, f"{base}{path}?{body}", headers=headers, timeout=5)


def limit(cid: str, side: str = "BUY", price: str = "1.0500", qty: str = "20") -> dict[str, str]:
    return {"symbol": "XRPUSDT", "side": side, "type": "LIMIT", "timeInForce": "GTC",
            "quantity": qty, "price": price, "newClientOrderId": cid}


def test_a_wrong_signature_or_key_is_refused(fake_binance):
    answer = signed(fake_binance, "GET", "/api/v3/account", {}, secret="not-the-secret")
    assert answer.status_code == 400 and answer.json()["code"] == -1022
    answer = signed(fake_binance, "GET", "/api/v3/account", {}, key="someone-else")
    assert answer.status_code == 401 and answer.json()["code"] == -2015
    assert signed(fake_binance, "GET", "/api/v3/account", {}).status_code == 200


def test_a_stale_timestamp_is_refused(fake_binance):
    query = urlencode({"timestamp": str(int(time.time() * 1000) - 60_000), "recvWindow": "5000"})
    signature = hmac.new(API_SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
    answer = requests.get(f"{fake_binance.url}/api/v3/account?{query}&signature={signature}",
                          headers={"X-MBX-APIKEY": API_KEY}, timeout=5)
    assert answer.status_code == 400 and answer.json()["code"] == -1021


def test_a_duplicate_client_id_is_refused_and_lookup_works(fake_binance):
    first = signed(fake_binance, "POST", "/api/v3/order", limit("td-t-000001"))
    assert first.status_code == 200 and first.json()["status"] == "NEW"
    again = signed(fake_binance, "POST", "/api/v3/order", limit("td-t-000001"))
    assert again.status_code == 400 and again.json() == {"code": -2010, "msg": "Duplicate order sent."}
    assert len(fake_binance.orders) == 1 and fake_binance.engine.duplicates == ["td-t-000001"]
    found = signed(fake_binance, "GET", "/api/v3/order", {"symbol": "XRPUSDT", "origClientOrderId": "td-t-000001"})
    assert found.json()["clientOrderId"] == "td-t-000001"
    missing = signed(fake_binance, "GET", "/api/v3/order", {"symbol": "XRPUSDT", "origClientOrderId": "td-t-999999"})
    assert missing.status_code == 400 and missing.json()["code"] == -2013


def test_filters_and_balance_are_enforced(fake_binance):
    assert signed(fake_binance, "POST", "/api/v3/order", limit("a", price="1.05001")).json()["msg"] == "Filter failure: PRICE_FILTER"
    assert signed(fake_binance, "POST", "/api/v3/order", limit("b", qty="20.05")).json()["msg"] == "Filter failure: LOT_SIZE"
    assert signed(fake_binance, "POST", "/api/v3/order", limit("c", qty="1")).json()["msg"] == "Filter failure: NOTIONAL"
    poor = signed(fake_binance, "POST", "/api/v3/order", limit("d", qty="5000"))
    assert poor.json() == {"code": -2010, "msg": "Account has insufficient balance for requested action."}
    assert signed(fake_binance, "POST", "/api/v3/order", {**limit("e"), "symbol": "NOPE"}).json()["code"] == -1121


def test_resting_orders_fill_when_the_price_crosses_with_the_fee_in_the_received_asset(fake_binance):
    engine = fake_binance.engine
    signed(fake_binance, "POST", "/api/v3/order", limit("buy-1", price="1.0500", qty="20"))
    signed(fake_binance, "POST", "/api/v3/order", limit("sell-1", side="SELL", price="1.1500", qty="10"))
    assert engine.balance("USDT") == (D("979"), D("21"))
    assert engine.balance("XRP") == (D("490"), D("10"))
    assert fake_binance.set_price("XRPUSDT", "1.0600") == []
    [buy] = fake_binance.set_price("XRPUSDT", "1.0500")
    assert (buy["price"], buy["qty"], buy["commission"], buy["commissionAsset"], buy["isMaker"]) == (
        D("1.0500"), D("20"), D("0.02"), "XRP", True)
    [sell] = fake_binance.set_price("XRPUSDT", "1.2")
    assert (sell["commission"], sell["commissionAsset"]) == (D("0.0115"), "USDT")
    assert engine.balance("USDT") == (D("1000") - D("21") + D("11.5") - D("0.0115"), D("0"))
    assert engine.balance("XRP") == (D("500") + D("20") - D("0.02") - D("10"), D("0"))
    trades = signed(fake_binance, "GET", "/api/v3/myTrades", {"symbol": "XRPUSDT", "fromId": "2"}).json()
    assert [t["id"] for t in trades] == [2]


def test_market_orders_fill_at_once_as_taker(fake_binance):
    answer = signed(fake_binance, "POST", "/api/v3/order", {
        "symbol": "XRPUSDT", "side": "SELL", "type": "MARKET", "quantity": "10", "newClientOrderId": "m-1",
        "newOrderRespType": "FULL"}).json()
    assert answer["status"] == "FILLED"
    assert answer["fills"] == [{"price": "1.10000000", "qty": "10.00000000", "commission": "0.01100000",
                                "commissionAsset": "USDT", "tradeId": 1}]


def test_faults_and_outages(fake_binance):
    fake_binance.fail(1.0, ("429",), retry_after_s=7)
    answer = requests.get(fake_binance.url + "/api/v3/ping", timeout=5)
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "7" and answer.json()["code"] == -1003
    fake_binance.heal()
    fake_binance.outage(30)
    assert requests.get(fake_binance.url + "/api/v3/ping", timeout=5).status_code == 503
    fake_binance.heal()
    assert requests.get(fake_binance.url + "/api/v3/ping", timeout=5).status_code == 200
    fake_binance.fail(1.0, ("timeout",), slow_s=1.0)
    with pytest.raises(requests.Timeout):
        requests.get(fake_binance.url + "/api/v3/time", timeout=0.3)


def test_the_state_survives_a_round_trip_through_json():
    engine = Engine(balances={"USDT": "100"})
    engine.set_price("XRPUSDT", "1")
    engine.place(limit("keep-1", price="0.9000", qty="10"))
    again = Engine.from_json(engine.to_json())
    assert again.balance("USDT") == (D("91"), D("9"))
    assert again.order_by_client_id("XRPUSDT", "keep-1")["status"] == "NEW"
    assert again.set_price("XRPUSDT", "0.9")[0]["qty"] == D("10")


def test_as_its_own_process_it_keeps_its_state_across_restarts(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    state = tmp_path / "binance.json"

    def start() -> tuple[subprocess.Popen, str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_exchange.binance", "--port", "0", "--state", str(state),
             "--balances", json.dumps({"USDT": "100"})],
            cwd=root, stdout=subprocess.PIPE, text=True,
        )
        line = process.stdout.readline()
        assert line.startswith("listening on "), line
        return process, f"http://127.0.0.1:{int(line.split()[-1])}"

    process, url = start()
    try:
        requests.post(url + "/_fake/price", json={"symbol": "XRPUSDT", "price": "1.0"}, timeout=5)
        assert signed(url, "POST", "/api/v3/order", limit("keep-1", price="0.9000", qty="10")).status_code == 200
    finally:
        process.kill()  # SIGKILL: the state file is all that is left
        process.wait()
    process, url = start()
    try:
        saved = requests.get(url + "/_fake/state", timeout=5).json()
        assert [o["clientOrderId"] for o in saved["orders"]] == ["keep-1"]
        assert [D(x) for x in saved["balances"]["USDT"]] == [D("91"), D("9")]
        requests.post(url + "/_fake/price", json={"symbol": "XRPUSDT", "price": "0.9"}, timeout=5)
        assert len(requests.get(url + "/_fake/state", timeout=5).json()["trades"]) == 1
    finally:
        process.kill()
        process.wait()
