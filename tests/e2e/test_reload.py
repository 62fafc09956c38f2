"""SIGHUP on the real daemon: config bots added, changed and removed live; an invalid
config rejected with nothing changed."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.config_sync import config_bot_id
from tests.e2e.daemon_process import EXAMPLE_CONFIG, DaemonProcess
from tests.e2e.notify_socket import NotifySocket

DATA = EXAMPLE_CONFIG.parent / "data"

MAIN = f"""
[api]
host = "127.0.0.1"

[[accounts]]
id = "paper"
exchange = "paper"
initial_balances = {{ USDT = "10000", BTC = "1", ETH = "5" }}

[[feeds]]
id = "xrp-usdt"
source = "replay"
symbol = "XRP/USDT"
path = "{DATA / 'XRP-USDT_5m.csv'}"
speed = 1500
loop = true

[[feeds]]
id = "eth-btc"
source = "replay"
symbol = "ETH/BTC"
path = "{DATA / 'ETH-BTC_5m.csv'}"
speed = 1500
loop = true
"""


def xrp_bot(bot_id: str, grid_count: int = 20) -> str:
    return f"""
[[bots]]
id = "{bot_id}"
account = "paper"
symbol = "XRP/USDT"
strategy = "grid"

[bots.config]
lower_price = 1.02
upper_price = 1.22
grid_count = {grid_count}
order_amount = 20
"""


ETH_BOT = """
[[bots]]
id = "gone"
account = "paper"
symbol = "ETH/BTC"
feed = "eth-btc"
strategy = "grid"

[bots.config]
lower_price = 0.083
upper_price = 0.106
price_change_percent = 1.5
total_investment = 0.5
"""


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "etc"
    (folder / "bots.d").mkdir(parents=True)
    (folder / "traderd.toml").write_text(MAIN)
    (folder / "bots.d" / "keep.toml").write_text(xrp_bot("keep"))
    (folder / "bots.d" / "change.toml").write_text(xrp_bot("change", grid_count=20))
    (folder / "bots.d" / "gone.toml").write_text(ETH_BOT)
    return folder


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.close()


class StateDb:
    """Reads the daemon's SQLite file while it runs."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def query(self, sql: str, *args: object) -> list[tuple]:
        with sqlite3.connect(self.path, timeout=5) as connection:
            return connection.execute(sql, args).fetchall()

    def statuses(self) -> dict[str, str]:
        return dict(self.query("SELECT config_key, status FROM bots WHERE source = 'config'"))

    def runs(self, config_key: str) -> list[dict]:
        rows = self.query(
            "SELECT payload FROM events WHERE event_type = 'GridRunStarted' AND bot_id = ? ORDER BY id",
            config_bot_id(config_key),
        )
        return [json.loads(payload) for (payload,) in rows]

    def wait_until(self, check, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.1)


def reload(daemon: DaemonProcess, notify_socket: NotifySocket) -> None:
    daemon.send(signal.SIGHUP)
    notify_socket.wait_line("RELOADING=1", timeout=5)
    notify_socket.wait_line("READY=1", timeout=30)


def test_sighup_adds_changes_and_removes_config_bots_and_rejects_an_invalid_config(
    tmp_path, config_dir, notify_socket
):
    daemon = DaemonProcess(tmp_path, config=config_dir / "traderd.toml", env={"NOTIFY_SOCKET": str(notify_socket.path)})
    db = StateDb(tmp_path / "state" / "traderd.sqlite3")
    try:
        daemon.start()
        notify_socket.wait_line("READY=1", timeout=15)
        three_running = {"keep": "running", "change": "running", "gone": "running"}
        assert db.wait_until(lambda: db.statuses() == three_running), db.statuses()
        assert db.wait_until(lambda: len(db.runs("change")) == 1 and len(db.runs("keep")) == 1)
        assert len(db.runs("change")[0]["levels"]) == 21

        (config_dir / "bots.d" / "added.toml").write_text(xrp_bot("added"))
        (config_dir / "bots.d" / "change.toml").write_text(xrp_bot("change", grid_count=10))
        (config_dir / "bots.d" / "gone.toml").unlink()
        # A bot on a new account: accounts are read at boot only, so it is refused.
        main = config_dir / "traderd.toml"
        main.write_text(main.read_text() + '\n[[accounts]]\nid = "paper2"\nexchange = "paper"\n')
        (config_dir / "bots.d" / "other.toml").write_text(xrp_bot("other").replace('"paper"', '"paper2"'))
        reload(daemon, notify_socket)

        expected = {"keep": "running", "change": "running", "gone": "stopped", "added": "running"}
        assert db.wait_until(lambda: db.statuses() == expected), db.statuses()
        # The changed bot stopped and began a new run on its new grid; the others did not.
        assert db.wait_until(lambda: len(db.runs("change")) == 2), db.runs("change")
        assert len(db.runs("change")[1]["levels"]) == 11
        assert db.wait_until(lambda: len(db.runs("added")) == 1)
        assert len(db.runs("keep")) == 1
        (config,) = db.query("SELECT config FROM bots WHERE config_key = 'change'")[0]
        assert json.loads(config)["grid_count"] == 10
        notify_socket.wait_status("STATUS=serving; 3 bots running", timeout=10)
        messages = [e["msg"] for e in daemon.log_entries()]
        assert "reload: accounts changed; that takes a restart, not applied" in messages
        assert any(m.startswith("reload: not adding bot 'other': account 'paper2' is not running") for m in messages)
        assert "reload done: 1 bots added, 1 changed, 1 removed, 1 refused" in messages

        # An invalid edit: rejected with one line naming the file and key; nothing changes.
        (config_dir / "bots.d" / "change.toml").write_text(xrp_bot("change", grid_count=1))
        (config_dir / "bots.d" / "keep.toml").unlink()  # would stop `keep`, were it applied
        reload(daemon, notify_socket)
        rejected = [e["msg"] for e in daemon.log_entries() if e["msg"].startswith("reload rejected")]
        assert len(rejected) == 1, rejected
        assert str(config_dir / "bots.d" / "change.toml") in rejected[0]
        assert "bots[0].config.grid_count" in rejected[0]
        time.sleep(1.0)  # room for a wrong stop to show
        assert db.statuses() == expected
        assert len(db.runs("change")) == 2 and len(db.runs("keep")) == 1

        assert daemon.stop(signal.SIGTERM, timeout=10)[0] == 0
    finally:
        daemon.kill()
