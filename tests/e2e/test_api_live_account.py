"""A live account made through the API trades, and survives kill -9, like a config one.

The real daemon (a subprocess) has no account in its config, only a `ccxt_poll` feed from
the fake Binance (its own process, so the exchange outlives the kills). A trader adds a
Binance account over HTTP with keys and the fake's URL, sees it connect with the
exchange's balances, makes a grid bot on it and starts it; the bot's orders reach the
fake with `td-` client ids. SIGKILL, and a restart while the exchange is down: the daemon
boots anyway, the bot waits for its account (not turned into an error), and when the
exchange is back the account connects from its sealed keys and the bot resumes, sending
no order twice. A stop with `cancel_orders` leaves
nothing open on the exchange, and the journal agrees with the exchange's own record.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.daemon_process import DaemonProcess
from tests.e2e.test_daemon_api import PASSWORD, request
from tests.e2e.test_live_crash_recovery import FEED, mismatches
from tests.fake_exchange.process import FakeBinanceProcess
from tests.waiting import eventually

API_KEY = "api-made-key-40d1c9"
API_SECRET = "api-made-secret-8e27b5"
ENCRYPTION_KEY = "qUeR5uK1l2r7d9mB3xV0aW4sZ8cE6gH1jN5pT7yL0oI="
GRID = {"lower_price": "1.00", "upper_price": "1.20", "grid_count": 10, "order_amount": "20"}

CONFIG = """\
[logging]
level = "INFO"

""" + FEED


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeBinanceProcess]:
    server = FakeBinanceProcess(tmp_path / "fake.json", balances={"USDT": "1000", "XRP": "500"},
                                api_key=API_KEY, api_secret=API_SECRET)
    server.price("1.1000")
    yield server
    server.stop()


@pytest.fixture
def daemon(tmp_path: Path, fake: FakeBinanceProcess) -> Iterator[DaemonProcess]:
    config = tmp_path / "traderd.toml"
    config.write_text(CONFIG.format(url=fake.url))
    process = DaemonProcess(tmp_path, config, env={"TRADERD_ENCRYPTION_KEY": ENCRYPTION_KEY})
    process.add_user("ada", "trader", PASSWORD)
    yield process
    process.kill()


class Trader:
    def __init__(self, daemon: DaemonProcess) -> None:
        self.daemon = daemon
        self.token = ""

    def login(self) -> Trader:
        status, pair = request(self.daemon, "POST", "/api/v1/auth/login", {"username": "ada", "password": PASSWORD})
        assert status == 200, pair
        self.token = pair["access_token"]
        return self

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return request(self.daemon, method, f"/api/v1{path}", body, self.token)

    def get(self, path: str) -> Any:
        status, body = self.call("GET", path)
        assert status == 200, (path, body)
        return body


def exchange_orders(fake: FakeBinanceProcess, *statuses: str) -> list[dict[str, Any]]:
    return [o for o in fake.state()["orders"] if o["clientOrderId"].startswith("td-") and o["status"] in statuses]


def test_an_account_made_over_http_trades_on_binance_and_comes_back_after_kill_9(daemon, fake):
    daemon.start()
    daemon.wait_healthy(timeout=15)
    ada = Trader(daemon).login()

    status, account = ada.call("POST", "/accounts", {
        "name": "my binance", "exchange": "binance", "api_key": API_KEY, "api_secret": API_SECRET,
        "urls": {"all": fake.url},
    })
    assert status == 201, account
    assert account["connected"] is True, account
    balance = ada.get(f"/accounts/{account['id']}/balance")
    assert {asset: held["total"] for asset, held in balance["balances"].items()} == {"USDT": "1000", "XRP": "500"}

    status, bot = ada.call("POST", "/bots", {
        "name": "xrp on binance", "strategy": "grid", "account_id": account["id"], "symbol": "XRP/USDT",
        "config": GRID, "auto_start": True,
    })
    assert status == 201, bot
    eventually(lambda: len(exchange_orders(fake, "NEW")) == 10, timeout=20, what="the grid on the exchange")
    placed = exchange_orders(fake, "NEW")
    assert {Decimal(o["price"]) for o in placed} == {Decimal("1.00") + Decimal("0.02") * i for i in range(11)} - {Decimal("1.10")}
    assert all(o["clientOrderId"].startswith("td-") for o in placed)

    for price in ("1.0790", "1.0590", "1.0990"):  # two buys fill, then their sells
        fake.price(price)
        time.sleep(0.6)
    eventually(lambda: len(fake.state()["trades"]) >= 3, timeout=20, what="fills on the exchange")

    daemon.kill()
    fake.stop()  # and the exchange is down when the daemon comes back: it boots anyway
    daemon.start()
    daemon.wait_healthy(timeout=15)
    ada.login()
    assert ada.get(f"/accounts/{account['id']}")["connected"] is False
    assert ada.get(f"/bots/{bot['id']}")["status"] == "running"  # waiting for its account, not an error
    assert ada.get(f"/bots/{bot['id']}/performance")["live"] is False  # no actor runs it yet
    fake.start()
    eventually(lambda: ada.get(f"/accounts/{account['id']}")["connected"], timeout=30, what="the account connected again")
    eventually(lambda: ada.get(f"/bots/{bot['id']}/performance")["live"], timeout=30, what="the bot resumed")
    assert ada.get(f"/bots/{bot['id']}")["status"] == "running"
    for price in ("1.1230", "1.0770"):
        fake.price(price)
        time.sleep(0.6)
    eventually(lambda: not mismatches(daemon, fake.state(), account["id"]), timeout=30, what="journal = exchange")

    status, stopped = ada.call("POST", f"/bots/{bot['id']}/stop", {"cancel_orders": True, "sell_base": False})
    assert status == 200 and stopped["status"] == "stopped", stopped
    eventually(lambda: exchange_orders(fake, "NEW", "PARTIALLY_FILLED") == [], timeout=20, what="no open orders left")
    state = fake.state()
    assert state["duplicates"] == [], f"client ids sent twice: {state['duplicates']}"
    eventually(lambda: not mismatches(daemon, fake.state(), account["id"]), timeout=30, what="the balances after the cancels")
    code, _ = daemon.stop(signal.SIGTERM, timeout=15)
    assert code == 0, daemon.log()[-3000:]
    problems = mismatches(daemon, fake.state(), account["id"])
    assert not problems, "\n".join(problems)
