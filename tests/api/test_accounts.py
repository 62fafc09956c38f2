"""`/api/v1/accounts` against the real daemon, booted in-process on a real database.

The daemon's own boot steps run on a loop in a thread of their own (journal, risk, a
config paper account, a feed, the HTTP server on loopback); requests go over real HTTP.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from actors.messages import Flush
from actors.reply import FutureReply
from config.schema import DaemonConfig
from daemon.service import Daemon
from storage.config_sync import ConfigBot, sync_config_objects
from storage.models import AccountRow, EventRow
from storage.sealing import Sealer, decode_sealed, parse_key
from tests.api.auth_helpers import PASSWORD, SECRET, add_user
from tests.e2e.daemon_process import free_port
from trading.events import BotStatusChanged

KEY_TEXT = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
API_KEY = "AKIA-recognizable-key-7f3a9c"
API_SECRET = "SECRET-recognizable-secret-b41e02"
PASSPHRASE = "PASS-recognizable-passphrase-55d1"


class BootedDaemon:
    """A `Daemon` booted (not `run`: no signal handlers off the main thread) on a loop in a
    thread; `close` runs its shutdown."""

    def __init__(self, config: DaemonConfig) -> None:
        self.daemon = Daemon(config)
        self.port = config.api.port
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()
        assert self._ready.wait(30), "the daemon did not boot within 30 s"
        if self.error is not None:
            raise self.error

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        try:
            await self.daemon._boot()
        except BaseException as error:  # noqa: B902 - handed to the test thread
            self.error = error
        self._ready.set()
        try:
            if self.error is None:
                await self._stop.wait()
        finally:
            await self.daemon._shutdown()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                raw = reply.read()
                return reply.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None

    def journal(self, event: Any) -> None:
        """Tell the daemon's journal `event` and wait until it is committed."""
        reply = FutureReply()
        assert self.daemon.directory.tell("journal", event)
        assert self.daemon.directory.tell("journal", Flush(reply=reply))
        reply.wait(10)

    def token(self, username: str) -> str:
        status, body = self.call("POST", "/api/v1/auth/login", {"username": username, "password": PASSWORD})
        assert status == 200, body
        return body["access_token"]


def daemon_config(database_url: str, state_dir: Path, key: str | None = KEY_TEXT) -> DaemonConfig:
    return DaemonConfig.model_validate({
        "state_dir": str(state_dir),
        "api": {"port": free_port(), "jwt_secret": SECRET, **({"encryption_key": key} if key else {})},
        "database": {"url": database_url},
        "journal": {"writer": "thread", "flush_interval_ms": 10},
        "accounts": [{"id": "house", "exchange": "paper", "initial_balances": {"USDT": "5"}}],
        "feeds": [{"id": "btc", "source": "random_walk", "symbol": "BTC/USDT", "start_price": "50000", "interval_s": 0.05}],
    })


@pytest.fixture
def booted(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[BootedDaemon]:
    daemon = BootedDaemon(daemon_config(database_url, tmp_path / "state"))
    yield daemon
    daemon.close()


@pytest.fixture
def users(engine: Engine) -> dict[str, str]:
    return {name: add_user(engine, name, role) for name, role in
            (("ada", "trader"), ("bob", "trader"), ("vic", "viewer"), ("root", "admin"))}


def paper_body(name: str = "sim", usdt: str = "10000") -> dict[str, Any]:
    return {"name": name, "exchange": "paper", "initial_balances": {"USDT": usdt, "BTC": "0.5"}}


NOWHERE = "http://127.0.0.1:9"  # a closed port: a live account's exchange never answers, and no request leaves the machine


def live_body(name: str = "binance main") -> dict[str, Any]:
    return {"name": name, "exchange": "binance", "api_key": API_KEY, "api_secret": API_SECRET,
            "password": PASSPHRASE, "is_testnet": True, "ip_whitelist": ["10.0.0.1", "192.168.1.0/24"],
            "urls": {"all": NOWHERE}}


def test_a_paper_account_starts_at_once_with_its_initial_balances(booted, users):
    ada = booted.token("ada")

    status, account = booted.call("POST", "/api/v1/accounts", paper_body(), ada)

    assert status == 201, account
    assert account["exchange"] == "paper" and account["source"] == "api" and account["owner_id"] == users["ada"]
    assert account["connected"] is True and account["is_valid"] is None
    assert account["initial_balances"] == {"USDT": "10000", "BTC": "0.5"}
    assert (account["api_key_hint"], account["has_api_key"], account["has_api_secret"]) == (None, False, False)
    status, balance = booted.call("GET", f"/api/v1/accounts/{account['id']}/balance", token=ada)
    assert status == 200, balance
    assert balance["balances"] == {
        "BTC": {"free": "0.5", "used": "0", "total": "0.5"},
        "USDT": {"free": "10000", "used": "0", "total": "10000"},
    }
    assert balance["available_balance"] == "10000" and balance["quote_currency"] == "USDT"

    status, checked = booted.call("POST", f"/api/v1/accounts/{account['id']}/test", token=ada)
    assert status == 200, checked
    assert checked["success"] is True and checked["balance"] == {"BTC": "0.5", "USDT": "10000"}
    status, again = booted.call("GET", f"/api/v1/accounts/{account['id']}", token=ada)
    assert again["is_valid"] is True and again["last_validated_at"].endswith("Z")


def test_positions_value_holdings_at_the_feeds_last_price(booted, users):
    ada = booted.token("ada")
    account = booted.call("POST", "/api/v1/accounts", paper_body(), ada)[1]

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the random-walk feed ticks every 50 ms
        status, positions = booted.call("GET", f"/api/v1/accounts/{account['id']}/positions", token=ada)
        assert status == 200, positions
        if positions["positions"][0]["price"] is not None:
            break
        time.sleep(0.05)
    (btc,) = positions["positions"]
    assert btc["asset"] == "BTC" and btc["symbol"] == "BTC/USDT" and btc["total"] == "0.5"
    assert Decimal(btc["value"]) == Decimal("0.5") * Decimal(btc["price"]) > 0
    assert Decimal(positions["total_value"]) == Decimal(btc["value"])


def test_a_live_account_is_sealed_masked_and_not_connected(booted, users, engine):
    ada = booted.token("ada")

    status, account = booted.call("POST", "/api/v1/accounts", live_body(), ada)

    assert status == 201, account
    assert account["api_key_hint"] == "****" + API_KEY[-4:]
    assert (account["has_api_key"], account["has_api_secret"], account["has_password"]) == (True, True, True)
    assert account["connected"] is False and account["is_valid"] is None and account["is_testnet"] is True
    assert account["ip_whitelist"] == ["10.0.0.1/32", "192.168.1.0/24"]
    text = json.dumps(account)
    assert API_KEY not in text and API_SECRET not in text and PASSPHRASE not in text
    with engine.connect() as connection:
        row = connection.execute(select(AccountRow).where(AccountRow.id == account["id"])).one()
        payloads = list(connection.execute(select(EventRow.payload)).scalars())
        created = json.loads(connection.execute(
            select(EventRow.payload).where(EventRow.event_type == "AccountCreated", EventRow.account_id == account["id"])
        ).scalar_one())
    sealer = Sealer(parse_key(KEY_TEXT))
    assert sealer.unseal(row.api_secret_sealed, account["id"], "api_secret") == API_SECRET
    assert sealer.unseal(row.password_sealed, account["id"], "password") == PASSPHRASE
    assert [p for p in payloads if API_SECRET in p or API_KEY in p or PASSPHRASE in p] == []
    assert sealer.unseal(decode_sealed(created["api_key_sealed"]), account["id"], "api_key") == API_KEY

    # `/test` and `/validate` ask the exchange (tests/api/test_accounts_live_check.py);
    # a connected account trades (tests/e2e/test_api_live_account.py).
    status, error = booted.call("GET", f"/api/v1/accounts/{account['id']}/balance", token=ada)
    assert (status, error["code"]) == (503, "EXCHANGE_UNAVAILABLE") and "not restored yet" in error["message"], error


def test_a_patch_reseals_new_keys_and_resets_the_check(booted, users, engine):
    ada = booted.token("ada")
    account = booted.call("POST", "/api/v1/accounts", live_body(), ada)[1]
    new_secret = "NEW-secret-value-9e8d7c"

    status, changed = booted.call("PATCH", f"/api/v1/accounts/{account['id']}", {
        "name": "renamed", "api_key": "NEWKEY-0000-zz99", "api_secret": new_secret, "password": None,
    }, ada)

    assert status == 200, changed
    assert changed["name"] == "renamed" and changed["api_key_hint"] == "****zz99"
    assert changed["has_password"] is False and changed["ip_whitelist"] == account["ip_whitelist"]
    with engine.connect() as connection:
        row = connection.execute(select(AccountRow).where(AccountRow.id == account["id"])).one()
    assert Sealer(parse_key(KEY_TEXT)).unseal(row.api_secret_sealed, account["id"], "api_secret") == new_secret


def test_requests_that_do_not_fit_are_refused(booted, users):
    ada, vic = booted.token("ada"), booted.token("vic")

    assert booted.call("POST", "/api/v1/accounts", paper_body(), vic)[1]["code"] == "INSUFFICIENT_PERMISSION"
    status, error = booted.call("POST", "/api/v1/accounts", {**live_body(), "exchange": "nosuchexchange"}, ada)
    assert (status, error["details"]["errors"][0]["loc"]) == (422, ["body", "exchange"])
    status, error = booted.call("POST", "/api/v1/accounts", {**paper_body(), "api_key": API_KEY}, ada)
    assert status == 422 and API_KEY not in json.dumps(error)
    status, error = booted.call("POST", "/api/v1/accounts", {k: v for k, v in live_body().items() if k != "api_secret"}, ada)
    assert (status, error["details"]["errors"][0]["loc"]) == (422, ["body", "api_secret"])
    status, error = booted.call("POST", "/api/v1/accounts", {**paper_body(), "initial_balances": {"USDT": "-1"}}, ada)
    assert status == 422
    assert booted.call("POST", "/api/v1/accounts", paper_body("dup"), ada)[0] == 201
    assert booted.call("POST", "/api/v1/accounts", paper_body("dup"), ada)[1]["code"] == "CONFLICT"
    assert booted.call("POST", "/api/v1/accounts", paper_body("dup"), booted.token("bob"))[0] == 201


def test_another_users_accounts_are_not_found_on_every_route(booted, users):
    ada, bob, root = booted.token("ada"), booted.token("bob"), booted.token("root")
    ids = [booted.call("POST", "/api/v1/accounts", body, ada)[1]["id"] for body in (paper_body(), live_body())]

    for account_id in ids:
        for method, suffix, body in (
            ("GET", "", None), ("PATCH", "", {"name": "mine now"}), ("DELETE", "", None),
            ("POST", "/test", None), ("GET", "/balance", None), ("GET", "/positions", None),
        ):
            status, error = booted.call(method, f"/api/v1/accounts/{account_id}{suffix}", body, bob)
            assert (status, error["code"]) == (404, "ACCOUNT_NOT_FOUND"), (method, suffix, error)
    assert booted.call("GET", "/api/v1/accounts", token=bob)[1]["total"] == 0
    listed = booted.call("GET", "/api/v1/accounts", token=ada)[1]
    assert sorted(item["id"] for item in listed["items"]) == sorted(ids) and listed["total"] == 2
    assert booted.call("GET", "/api/v1/accounts?exchange=binance", token=ada)[1]["total"] == 1
    # The config-file account: an admin's only, and read-only.
    assert booted.call("GET", "/api/v1/accounts/house", token=ada)[0] == 404
    everything = booted.call("GET", "/api/v1/accounts", token=root)[1]
    assert {item["id"] for item in everything["items"]} == {*ids, "house"}
    status, house = booted.call("GET", "/api/v1/accounts/house", token=root)
    assert house["source"] == "config" and house["connected"] is True
    assert booted.call("DELETE", "/api/v1/accounts/house", token=root)[1]["code"] == "CONFLICT"
    assert booted.call("GET", "/api/v1/accounts/house/balance", token=root)[1]["balances"]["USDT"]["total"] == "5"


def test_delete_is_refused_while_a_bot_runs_on_the_account(booted, users, engine):
    ada = booted.token("ada")
    account = booted.call("POST", "/api/v1/accounts", paper_body(), ada)[1]
    bot = ConfigBot(config_key="on-api-account", account_id=account["id"], name="b", strategy="grid",
                    symbol="BTC/USDT", config_json="{}")
    sync_config_objects(engine, [], [bot])
    booted.journal(BotStatusChanged(bot_id=bot.id, status="running"))

    status, error = booted.call("DELETE", f"/api/v1/accounts/{account['id']}", token=ada)
    assert (status, error["code"]) == (409, "BOT_RUNNING"), error

    booted.journal(BotStatusChanged(bot_id=bot.id, status="stopped"))
    status, error = booted.call("DELETE", f"/api/v1/accounts/{account['id']}", token=ada)
    assert (status, error["code"]) == (409, "CONFLICT"), error  # its stopped bot still refers to it


def test_a_deleted_paper_account_is_gone_with_its_exchange(booted, users):
    ada = booted.token("ada")
    account = booted.call("POST", "/api/v1/accounts", paper_body(), ada)[1]

    assert booted.call("DELETE", f"/api/v1/accounts/{account['id']}", token=ada) == (204, None)

    assert booted.call("GET", f"/api/v1/accounts/{account['id']}", token=ada)[0] == 404
    assert booted.daemon.directory.get(f"exchange:{account['id']}") is None
    assert booted.call("GET", "/api/v1/accounts", token=ada)[1]["total"] == 0


def test_a_live_account_needs_an_encryption_key(engine, database_url, tmp_path, users):
    daemon = BootedDaemon(daemon_config(database_url, tmp_path / "state", key=None))
    try:
        status, error = daemon.call("POST", "/api/v1/accounts", live_body(), daemon.token("ada"))
        assert (status, error["code"]) == (503, "ENCRYPTION_KEY_MISSING")
        assert daemon.call("POST", "/api/v1/accounts", paper_body(), daemon.token("ada"))[0] == 201
    finally:
        daemon.close()


LACKING = "coinspot"
"""An exchange ccxt knows that has no `fetchOrder`/`fetchOpenOrders`: traderd cannot trade on it."""


def test_an_exchange_lacking_a_needed_call_is_refused_as_in_a_config_file(booted, users):
    ada = booted.token("ada")

    for path in ("/api/v1/accounts", "/api/v1/accounts/validate"):
        status, error = booted.call("POST", path, {**live_body(), "exchange": LACKING}, ada)
        assert (status, error["code"]) == (422, "VALIDATION_ERROR"), (path, error)
        (problem,) = error["details"]["errors"]
        assert problem["loc"] == ["body", "exchange"]
        assert "fetchOpenOrders" in problem["msg"] and LACKING in problem["msg"], problem
        assert API_SECRET not in json.dumps(error)
    assert booted.call("GET", "/api/v1/accounts", token=ada)[1]["total"] == 0
