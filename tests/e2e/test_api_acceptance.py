"""Issue 4's walk-through on the real daemon, over real HTTP and WebSocket: a trader logs
in, makes a paper account and a grid bot on it, starts it, hears `order_update`, `fill`
and `bot_update` on `bot:{id}`, reads trades and performance that agree with the paper
exchange's balances, and stops it with `cancel_orders`, leaving no open order. A second
trader sees none of it: 404 for every id, and not one message."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.api.ws_helpers import ClientLoop
from tests.e2e.daemon_process import DaemonProcess
from tests.e2e.test_daemon_api import PASSWORD, request
from tests.waiting import eventually

D = Decimal
# Up to above the highest price of the example candles (1.2214): the start always buys
# base at market, and levels 0.003 apart complete a cycle within seconds of replay.
GRID = {"lower_price": "1.10", "upper_price": "1.25", "grid_count": 50, "order_amount": "10"}
INITIAL_USDT = D("1000")


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    process = DaemonProcess(tmp_path)
    yield process
    process.kill()


def add_trader(daemon: DaemonProcess, name: str) -> None:
    daemon.add_user(name, "trader", PASSWORD)


def login(daemon: DaemonProcess, name: str) -> str:
    status, pair = request(daemon, "POST", "/api/v1/auth/login", {"username": name, "password": PASSWORD})
    assert status == 200, pair
    return pair["access_token"]


def test_a_trader_runs_a_paper_grid_bot_over_http_and_websocket_and_nobody_else_sees_it(daemon):
    add_trader(daemon, "alice")
    add_trader(daemon, "bob")
    daemon.start()
    daemon.wait_healthy(timeout=15)
    alice, bob = login(daemon, "alice"), login(daemon, "bob")

    status, account = request(daemon, "POST", "/api/v1/accounts", {
        "name": "alice paper", "exchange": "paper", "initial_balances": {"USDT": str(INITIAL_USDT)},
    }, alice)
    assert status == 201, account
    status, bot = request(daemon, "POST", "/api/v1/bots", {
        "name": "alice xrp grid", "strategy": "grid", "account_id": account["id"], "symbol": "XRP-USDT",
        "config": GRID, "auto_start": False,
    }, alice)
    assert status == 201, bot
    bot_id = bot["id"]

    loop = ClientLoop()
    try:
        watcher = loop.connect(daemon.port, f"?token={alice}")
        assert watcher.recv()["type"] == "welcome"
        assert watcher.subscribe(f"bot:{bot_id}")[-1]["type"] == "subscribed"
        outsider = loop.connect(daemon.port, f"?token={bob}")
        assert outsider.recv()["type"] == "welcome"
        outsider.subscribe("orders", "bots", f"account:{account['id']}")
        outsider.send({"type": "subscribe", "channels": [f"bot:{bot_id}"]})
        refusal = outsider.recv_until(lambda m: m["type"] == "error")
        assert f"bot:{bot_id}" in refusal["message"] or refusal.get("channel") == f"bot:{bot_id}"

        status, started = request(daemon, "POST", f"/api/v1/bots/{bot_id}/start", {}, alice)
        assert status == 200 and started["status"] == "running", started

        # The example feed replays real XRP candles at 1,500x: the grid trades in seconds.
        for kind in ("order_update", "fill", "bot_update"):
            message = watcher.recv_until(lambda m, kind=kind: m["type"] == kind, timeout=60)
            assert message["channel"] == f"bot:{bot_id}"
        eventually(lambda: _completed_cycles(daemon, bot_id, alice) > 0, 60, "a completed buy-sell cycle")

        status, stopped = request(daemon, "POST", f"/api/v1/bots/{bot_id}/stop",
                                  {"cancel_orders": True, "sell_base": False}, alice)
        assert status == 200 and stopped["status"] == "stopped", stopped
        status, open_orders = request(daemon, "GET", f"/api/v1/orders?bot_id={bot_id}&status=open", token=alice)
        assert status == 200 and open_orders["total"] == 0, open_orders

        trades = _all_trades(daemon, bot_id, alice)
        status, performance = request(daemon, "GET", f"/api/v1/bots/{bot_id}/performance", token=alice)
        assert status == 200, performance
        assert performance["total_trades"] == len(trades)
        assert performance["buy_trades"] == sum(t["side"] == "buy" for t in trades)
        assert D(performance["grid_profit"]) == sum((D(t["profit"]) for t in trades if t["profit"]), D(0))
        # The paper exchange's balances are the initial ones moved by exactly these trades.
        status, balance = request(daemon, "GET", f"/api/v1/accounts/{account['id']}/balance", token=alice)
        assert status == 200, balance
        assert {asset: D(b["total"]) for asset, b in balance["balances"].items() if D(b["total"])} == _replay(trades)

        # Bob: 404 for each of Alice's ids, and not one message of hers.
        order_id = trades[0]["order_id"]
        for path in (f"/api/v1/bots/{bot_id}", f"/api/v1/bots/{bot_id}/trades", f"/api/v1/bots/{bot_id}/orders",
                     f"/api/v1/accounts/{account['id']}", f"/api/v1/accounts/{account['id']}/balance",
                     f"/api/v1/orders/{order_id}"):
            status, body = request(daemon, "GET", path, token=bob)
            assert status == 404, (path, body)
        status, bobs_trades = request(daemon, "GET", "/api/v1/trades", token=bob)
        assert status == 200 and bobs_trades["total"] == 0
        outsider.send({"type": "ping"})
        outsider.recv_until(lambda m: m["type"] == "pong")
        leaked = [m for m in outsider.received if m["type"] in ("order_update", "fill", "bot_update", "account_update")]
        assert leaked == []
    finally:
        loop.close()


def _completed_cycles(daemon: DaemonProcess, bot_id: str, token: str) -> int:
    status, performance = request(daemon, "GET", f"/api/v1/bots/{bot_id}/performance", token=token)
    return performance["completed_cycles"] if status == 200 else 0


def _all_trades(daemon: DaemonProcess, bot_id: str, token: str) -> list[dict[str, Any]]:
    trades: list[dict[str, Any]] = []
    while True:
        status, page = request(daemon, "GET", f"/api/v1/bots/{bot_id}/trades?limit=500&offset={len(trades)}",
                               token=token)
        assert status == 200, page
        trades += page["items"]
        if len(trades) >= page["total"]:
            return trades


def _replay(trades: list[dict[str, Any]]) -> dict[str, Decimal]:
    """The balances the trades leave, from the initial USDT: what the exchange must hold."""
    balances: dict[str, Decimal] = defaultdict(Decimal)
    balances["USDT"] = INITIAL_USDT
    for trade in trades:
        base, quote = trade["symbol"].split("/")
        price, quantity, fee = D(trade["price"]), D(trade["quantity"]), D(trade["fee"])
        if trade["side"] == "buy":
            balances[base] += quantity
            balances[quote] -= price * quantity
        else:
            balances[base] -= quantity
            balances[quote] += price * quantity
        balances[trade["fee_currency"]] -= fee
    return {asset: amount for asset, amount in balances.items() if amount}
