"""Exchange credentials through the real daemon: no clear secret in any response, log line
or database column; paper accounts come back after a restart; a missing or wrong
encryption key stops the boot with one clear line."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, select

from tests.e2e.daemon_process import DaemonProcess

PASSWORD = "correct horse battery"
KEY = "qUeR5uK1l2r7d9mB3xV0aW4sZ8cE6gH1jN5pT7yL0oI="
OTHER_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
API_KEY = "e2eKEY-recognizable-4b1d9f27"
API_SECRET = "e2eSECRET-recognizable-77c03aa1"
PASSPHRASE = "e2ePASS-recognizable-0d2e6b"
NOWHERE = "http://127.0.0.1:9"  # a closed port: key checks fail fast, and never leave the machine
NEW_SECRET = "e2eROTATED-recognizable-5f5e1c"
SECRETS = [API_KEY, API_SECRET, PASSPHRASE, NEW_SECRET, KEY]

CONFIG = """\
[logging]
level = "DEBUG"

[[accounts]]
id = "house"
exchange = "paper"
initial_balances = { USDT = "100" }

[[feeds]]
id = "btc"
source = "random_walk"
symbol = "BTC/USDT"
start_price = "50000"
interval_s = 0.2
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "traderd.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def processes() -> Iterator[list[DaemonProcess]]:
    started: list[DaemonProcess] = []
    yield started
    for process in started:
        process.kill()


def daemon(tmp_path: Path, config: Path, processes: list[DaemonProcess], key: str | None) -> DaemonProcess:
    process = DaemonProcess(tmp_path, config, env={"TRADERD_ENCRYPTION_KEY": key} if key else {})
    processes.append(process)
    return process


def add_user(process: DaemonProcess, name: str, role: str) -> None:
    process.add_user(name, role, PASSWORD)


class Client:
    """Real HTTP against the daemon; keeps every response body, raw, for the search."""

    def __init__(self, process: DaemonProcess) -> None:
        self.process = process
        self.bodies: list[str] = []
        self.token: str | None = None

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.process.url(path), data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                status, raw = reply.status, reply.read().decode()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read().decode()
        self.bodies.append(raw)
        return status, json.loads(raw) if raw else None

    def login(self, name: str) -> Client:
        status, pair = self.call("POST", "/api/v1/auth/login", {"username": name, "password": PASSWORD})
        assert status == 200, pair
        self.token = pair["access_token"]
        return self


def every_cell(database: Path) -> list[str]:
    """Every value of every column of every table, as text (bytes also decoded)."""
    engine = create_engine(f"sqlite:///{database}")
    metadata = MetaData()
    metadata.reflect(engine)
    cells = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        cells.append(bytes(value).decode("latin-1"))
                    cells.append(str(value))
    engine.dispose()
    return cells


def test_credentials_never_show_in_clear_and_paper_accounts_survive_a_restart(tmp_path, config, processes):
    first = daemon(tmp_path, config, processes, KEY)
    add_user(first, "ada", "trader")
    first.start()
    first.wait_healthy(timeout=15)
    ada = Client(first).login("ada")

    status, live = ada.call("POST", "/api/v1/accounts", {
        "name": "binance", "exchange": "binance", "api_key": API_KEY, "api_secret": API_SECRET,
        "password": PASSPHRASE, "is_testnet": True, "urls": {"all": NOWHERE},
    })
    assert status == 201, live
    assert live["api_key_hint"] == "****" + API_KEY[-4:] and live["has_api_secret"] is True
    status, paper = ada.call("POST", "/api/v1/accounts", {
        "name": "sim", "exchange": "paper", "initial_balances": {"USDT": "10000", "BTC": "0.25"},
    })
    assert status == 201, paper
    assert ada.call("PATCH", f"/api/v1/accounts/{live['id']}", {"api_secret": NEW_SECRET})[0] == 200
    # The key checks go to the exchange: here a closed local port, so 503 (and the test
    # never reaches a real exchange), with the secrets in the request all the same.
    assert ada.call("POST", "/api/v1/accounts/validate", {
        "exchange": "binance", "api_key": API_KEY, "api_secret": API_SECRET, "password": PASSPHRASE,
        "urls": {"all": NOWHERE},
    })[0] == 503
    assert ada.call("POST", "/api/v1/accounts", {"name": "x", "exchange": "paper", "api_secret": API_SECRET})[0] == 422
    assert ada.call("POST", "/api/v1/accounts", {"name": "x", "exchange": "kraken", "api_key": API_KEY, "api_secret": 5})[0] == 422
    for path in ("/api/v1/accounts", f"/api/v1/accounts/{live['id']}", f"/api/v1/accounts/{paper['id']}"):
        assert ada.call("GET", path)[0] == 200
    assert ada.call("POST", f"/api/v1/accounts/{live['id']}/test")[0] == 503
    status, balance = ada.call("GET", f"/api/v1/accounts/{paper['id']}/balance")
    assert status == 200, balance
    assert {asset: entry["total"] for asset, entry in balance["balances"].items()} == {"USDT": "10000", "BTC": "0.25"}
    assert first.stop()[0] == 0

    # Restarted with the same key: the paper exchange is back, from the database.
    second = daemon(tmp_path, config, processes, KEY)
    second.start()
    second.wait_healthy(timeout=15)
    again = Client(second).login("ada")
    status, balance = again.call("GET", f"/api/v1/accounts/{paper['id']}/balance")
    assert status == 200, balance
    assert {asset: entry["total"] for asset, entry in balance["balances"].items()} == {"USDT": "10000", "BTC": "0.25"}
    status, listed = again.call("GET", "/api/v1/accounts")
    assert {item["id"]: item["connected"] for item in listed["items"]} == {live["id"]: False, paper["id"]: True}
    assert second.stop()[0] == 0

    output = first.log()  # both runs append to the same file
    assert "account %s (binance) created" % live["id"] in output
    assert "opens the 3 sealed credentials" in output  # the second boot checked the key
    bodies = "\n".join(ada.bodies + again.bodies)
    cells = every_cell(tmp_path / "state" / "traderd.sqlite3")
    assert any(paper["id"] in cell for cell in cells)  # the dump does see the accounts
    for secret in SECRETS:
        assert secret not in bodies, secret
        assert secret not in output, secret
        assert [cell for cell in cells if secret in cell] == [], secret


def test_a_missing_or_wrong_key_stops_the_boot_once_sealed_keys_exist(tmp_path, config, processes):
    first = daemon(tmp_path, config, processes, KEY)
    add_user(first, "ada", "trader")
    first.start()
    first.wait_healthy(timeout=15)
    status, _ = Client(first).login("ada").call("POST", "/api/v1/accounts", {
        "name": "okx", "exchange": "okx", "api_key": API_KEY, "api_secret": API_SECRET, "password": PASSPHRASE,
    })
    assert status == 201
    assert first.stop()[0] == 0

    for key, problem in ((OTHER_KEY, "does not open the sealed API keys"), (None, "no encryption key is set"),
                         ("not-a-key", "must be 32 bytes")):
        process = daemon(tmp_path, config, processes, key)
        process.log_path.unlink()
        process.start()
        assert process.process is not None and process.process.wait(30) == 1, process.log()
        failures = [entry["msg"] for entry in process.log_entries() if entry["msg"].startswith("boot failed")]
        assert len(failures) == 1 and problem in failures[0] and "TRADERD_ENCRYPTION_KEY" in failures[0], failures
        for secret in (*SECRETS, OTHER_KEY):
            assert secret not in process.log()
