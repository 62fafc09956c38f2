"""kill -9 the real daemon while its grid bot trades on the fake Binance, again and again.

Issue 5: the daemon runs a Binance account and a grid bot on XRP/USDT, fed by a `ccxt_poll`
feed, against the fake Binance in its own process with a state file (so the exchange
outlives every kill). The test walks the server's price so the grid places and fills
orders, SIGKILLs the daemon at random moments while it trades (each after its first order
since the restart) and restarts it, then lets it settle and
compares the journal with the server's own record: no client id sent twice, every `td-`
order on the server known to the journal, every trade booked once with the server's fee,
the journal's last balances equal the server's, no grid level with two open orders.
The slow variant adds 20% failed requests (503, 429, slow answers) throughout.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import signal
import sqlite3
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import journal_audit
from tests.e2e.daemon_process import DaemonProcess
from tests.fake_exchange.process import FakeBinanceProcess
from trading.events import BalanceUpdated, OrderFilled, OrderSubmitted

D = Decimal
KEYS = {"E2E_API_KEY": "crash-key-5521", "E2E_API_SECRET": "crash-secret-6632"}
ACCOUNT = "binance"
ASSETS = ("USDT", "XRP")
WALK = ["1.0950", "1.0790", "1.0590", "1.0410", "1.0650", "1.0990", "1.1230", "1.1010", "1.0770", "1.1190",
        "1.0850", "1.0610", "1.0830", "1.1050", "1.1270", "1.0980"]

FEED = """\
[[feeds]]
id = "xrp-usdt"
source = "ccxt_poll"
exchange = "binance"
symbol = "XRP/USDT"
interval_s = 0.2
max_backoff_s = 1
timeout_s = 2
urls = {{ all = "{url}" }}
"""
"""The fake's XRP/USDT prices, polled (format with `url`)."""

CONFIG = """\
[logging]
level = "INFO"

[supervisor]
backoff_initial_s = 0.2
backoff_max_s = 2

[[accounts]]
id = "binance"
exchange = "binance"
api_key_env = "E2E_API_KEY"
api_secret_env = "E2E_API_SECRET"
urls = {{ all = "{url}" }}
poll_interval_s = 0.3
not_found_grace_s = 2

""" + FEED + """
[[bots]]
id = "xrp-grid"
name = "XRP/USDT grid on the fake Binance"
account = "binance"
symbol = "XRP/USDT"
feed = "xrp-usdt"
strategy = "grid"
auto_start = true

[bots.on_stop]
cancel_orders = false

[bots.config]
lower_price = 1.00
upper_price = 1.20
grid_count = 10
order_amount = 20
"""


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeBinanceProcess]:
    server = FakeBinanceProcess(tmp_path / "fake.json", balances={"USDT": "1000", "XRP": "500"},
                                api_key=KEYS["E2E_API_KEY"], api_secret=KEYS["E2E_API_SECRET"])
    server.price("1.1000")
    yield server
    server.stop()


def database_url(daemon: DaemonProcess) -> str:
    return f"sqlite:///{daemon.workdir / 'state' / 'traderd.sqlite3'}"


def wait_ready(daemon: DaemonProcess, timeout: float = 30) -> None:
    """Healthy, and the Binance account restored and reconciled."""
    daemon.wait_healthy(timeout=timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, ready = daemon.get_json("/health/ready", timeout=2)
        except OSError:
            status, ready = 0, None
        if status == 200:
            return
        time.sleep(0.1)
    raise AssertionError(f"/health/ready said {ready}:\n{daemon.log()[-3000:]}")


def orders_submitted(daemon: DaemonProcess) -> int:
    """How many orders the daemon's journal holds (read while it runs)."""
    with contextlib.closing(sqlite3.connect(daemon.workdir / "state" / "traderd.sqlite3", timeout=5)) as db:
        return db.execute("SELECT count(*) FROM events WHERE event_type = 'OrderSubmitted'").fetchone()[0]


def mismatches(daemon: DaemonProcess, state: dict[str, Any], account_id: str = ACCOUNT) -> list[str]:
    """What the journal and the server's record disagree on (empty when they agree)."""
    audit = journal_audit.load(database_url(daemon))
    problems = []
    ours = [o for o in state["orders"] if o["clientOrderId"].startswith("td-")]
    submitted = {e.client_order_id for e in audit.submitted}
    unknown = sorted({o["clientOrderId"] for o in ours} - submitted)
    if unknown:
        problems.append(f"orders on the server the journal lacks: {unknown}")
    fills = {f.trade_id: f for f in audit.fills if f.account_id == account_id}
    for trade in state["trades"]:
        fill = fills.pop(f"{trade['symbol']}-{trade['id']}", None)
        if fill is None:
            problems.append(f"server trade {trade['id']} ({trade['clientOrderId']}) not booked")
        elif (fill.client_order_id, fill.price, fill.quantity, fill.fee, fill.fee_currency) != (
                trade["clientOrderId"], D(trade["price"]), D(trade["qty"]), D(trade["commission"]),
                trade["commissionAsset"]):
            problems.append(f"trade {trade['id']} booked as {fill}, server says {trade}")
    if fills:
        problems.append(f"fills the server never made: {sorted(fills)}")
    last: dict[str, tuple[Decimal, Decimal]] = {}
    for event in audit.events:
        if isinstance(event, BalanceUpdated) and event.account_id == account_id:
            last[event.asset] = (event.free, event.locked)
    for asset in ASSETS:
        server = tuple(D(x) for x in state["balances"].get(asset, ["0", "0"]))
        if last.get(asset) != server:
            problems.append(f"{asset}: journal's last balance {last.get(asset)}, server {server}")
    resting = [(o["side"], o["price"]) for o in ours if o["status"] in ("NEW", "PARTIALLY_FILLED")]
    if len(resting) != len(set(resting)):
        problems.append(f"two open orders on one price level on the server: {sorted(resting)}")
    journal_audit.check_client_order_ids_unique(audit)
    journal_audit.check_one_open_order_per_grid_level(audit)
    journal_audit.check_each_trade_booked_once(audit)
    return problems + audit.problems


def run_kills(tmp_path: Path, fake: FakeBinanceProcess, kills: int, seed: int, failure_rate: float = 0.0) -> None:
    rng = random.Random(seed)
    config = tmp_path / "traderd.toml"
    config.write_text(CONFIG.format(url=fake.url))
    daemon = DaemonProcess(tmp_path, config, env=KEYS)
    walk = itertools.cycle(WALK)
    try:
        daemon.start()
        wait_ready(daemon)
        if failure_rate:
            fake.faults(failure_rate)
        for _ in range(kills):
            # Each kill lands while the bot trades: after its first order since the restart.
            before, kill_at = orders_submitted(daemon), None
            deadline = time.monotonic() + 45
            while kill_at is None or time.monotonic() < kill_at:
                assert time.monotonic() < deadline, f"no order within 45 s of a restart:\n{daemon.log()[-3000:]}"
                fake.price(next(walk))
                time.sleep(rng.uniform(0.1, 0.5))
                if kill_at is None and orders_submitted(daemon) > before:
                    kill_at = time.monotonic() + rng.uniform(0.0, 2.0)
            daemon.kill()
            daemon.start()
            wait_ready(daemon, timeout=60)
        fake.faults(0.0)
        for _ in range(4):  # a last stretch of trading with nothing failing
            fake.price(next(walk))
            time.sleep(0.4)

        def settled() -> list[str]:
            return mismatches(daemon, fake.state())

        deadline = time.monotonic() + 30
        while (problems := settled()) and time.monotonic() < deadline:
            time.sleep(0.5)
        code, _ = daemon.stop(signal.SIGTERM, timeout=15)
        assert code == 0, daemon.log()[-3000:]
    finally:
        daemon.kill()

    state = fake.state()
    audit = journal_audit.load(database_url(daemon))
    assert len(state["trades"]) >= 6, "the walk should have filled grid orders both ways"
    assert len([e for e in audit.events if isinstance(e, OrderSubmitted)]) >= 10
    assert [f for f in audit.fills if isinstance(f, OrderFilled)]
    assert state["duplicates"] == [], f"client ids sent twice: {state['duplicates']}"
    problems = mismatches(daemon, state)
    assert not problems, "\n".join(problems)


def test_kill_9_while_trading_on_binance_loses_and_duplicates_nothing(tmp_path, fake):
    run_kills(tmp_path, fake, kills=3, seed=5)


@pytest.mark.slow
def test_kill_9_ten_times_while_trading_on_binance(tmp_path, fake):
    run_kills(tmp_path, fake, kills=12, seed=20261129)


@pytest.mark.slow
def test_kill_9_ten_times_while_binance_fails_a_fifth_of_requests(tmp_path, fake):
    run_kills(tmp_path, fake, kills=10, seed=77, failure_rate=0.2)
