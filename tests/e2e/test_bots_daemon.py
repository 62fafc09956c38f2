"""Bots made through the API of the real daemon: they trade on the example config's paper
account, and a restart brings a running one back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.daemon_process import DaemonProcess
from tests.e2e.test_daemon_api import PASSWORD, add_admin, request
from tests.waiting import eventually

# Above the highest price of the example candles (1.2214), so the start always buys base
# at market and trades at once, wherever the replay is.
GRID = {"lower_price": "1.05", "upper_price": "1.25", "grid_count": 20, "order_amount": "10"}


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    process = DaemonProcess(tmp_path)
    yield process
    process.kill()


def login(daemon: DaemonProcess) -> str:
    status, pair = request(daemon, "POST", "/api/v1/auth/login", {"username": "root", "password": PASSWORD})
    assert status == 200, pair
    return pair["access_token"]


def test_an_api_bot_trades_and_comes_back_after_a_restart(daemon):
    add_admin(daemon)
    daemon.start()
    daemon.wait_healthy(timeout=15)
    token = login(daemon)

    status, bot = request(daemon, "POST", "/api/v1/bots", {
        "name": "api xrp grid", "strategy": "grid", "account_id": "paper", "symbol": "XRP-USDT",
        "config": GRID, "auto_start": True,
    }, token)
    assert status == 201, bot
    assert bot["status"] == "running" and bot["source"] == "api"
    bot_id = bot["id"]
    trades = eventually(
        lambda: request(daemon, "GET", f"/api/v1/bots/{bot_id}/trades", token=token)[1]["total"],
        30, "the bot's first trades",
    )
    assert trades > 0
    status, tree = request(daemon, "GET", "/api/v1/system/actors", token=token)
    assert f"bot:{bot_id}" in {child["name"] for child in tree["children"]}

    assert daemon.stop()[0] == 0
    daemon.start()
    daemon.wait_healthy(timeout=15)
    status, back = request(daemon, "GET", f"/api/v1/bots/{bot_id}", token=token)
    assert status == 200, back
    assert back["status"] == "running", back
    assert back["total_trades"] >= trades
    status, tree = request(daemon, "GET", "/api/v1/system/actors", token=token)
    assert f"bot:{bot_id}" in {child["name"] for child in tree["children"]}

    status, stopped = request(daemon, "POST", f"/api/v1/bots/{bot_id}/stop", {"cancel_orders": True}, token)
    assert status == 200 and stopped["status"] == "stopped", stopped
    for state in ("pending", "open", "partially_filled"):
        status, orders = request(daemon, "GET", f"/api/v1/bots/{bot_id}/orders?status={state}", token=token)
        assert orders["total"] == 0, orders
    status, performance = request(daemon, "GET", f"/api/v1/bots/{bot_id}/performance", token=token)
    assert status == 200 and performance["total_trades"] >= trades
    assert daemon.stop()[0] == 0
