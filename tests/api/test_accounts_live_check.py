"""`/accounts/validate` and `/accounts/{id}/test` for ccxt accounts: real ccxt over real HTTP
to the fake Binance on 127.0.0.1 (`fake_binance`), through the daemon booted in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.api.auth_helpers import add_user
from tests.api.test_accounts import BootedDaemon, daemon_config
from tests.fake_exchange.binance import API_KEY, API_SECRET

WRONG_KEY = "WRONG-key-recognizable-0a1b2c3d"
WRONG_SECRET = "WRONG-secret-recognizable-4e5f6a7b"


@pytest.fixture
def booted(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[BootedDaemon]:
    daemon = BootedDaemon(daemon_config(database_url, tmp_path / "state"))
    yield daemon
    daemon.close()


@pytest.fixture
def users(engine: Engine) -> None:
    for name in ("ada", "bob"):
        add_user(engine, name, "trader")


def body(server: Any, **changes: Any) -> dict[str, Any]:
    values = {"name": "fake binance", "exchange": "binance", "api_key": API_KEY, "api_secret": API_SECRET,
              "urls": {"all": server.url}}
    values.update(changes)
    return values


def no_secret_in(answer: Any, *secrets: str) -> bool:
    text = json.dumps(answer)
    return not any(secret in text for secret in secrets)


def test_validate_checks_the_keys_with_the_exchange(booted, users, fake_binance):
    ada = booted.token("ada")

    status, answer = booted.call("POST", "/api/v1/accounts/validate", body(fake_binance), ada)
    assert status == 200, answer
    assert (answer["success"], answer["exchange"]) == (True, "binance")
    assert {k: float(v) for k, v in answer["balance"].items()} == {"USDT": 1000.0, "XRP": 500.0}
    assert no_secret_in(answer, API_KEY, API_SECRET)
    assert fake_binance.requests_to("GET", "/api/v3/account")

    for changes, code in (({"api_key": WRONG_KEY}, "-2015"), ({"api_secret": WRONG_SECRET}, "-1022")):
        status, answer = booted.call("POST", "/api/v1/accounts/validate", body(fake_binance, **changes), ada)
        assert status == 200, answer
        assert answer["success"] is False and answer["balance"] == {}
        assert code in answer["message"] and "AuthenticationError" in answer["message"]
        assert no_secret_in(answer, WRONG_KEY, WRONG_SECRET, API_KEY, API_SECRET)


def test_validate_refuses_urls_that_are_not_http(booted, users, fake_binance):
    ada = booted.token("ada")
    for urls in ({"all": "file:///etc/passwd"}, {"all": "http://user:pw@127.0.0.1:1"}, {"bad key": "http://x"}):
        status, error = booted.call("POST", "/api/v1/accounts/validate", body(fake_binance, urls=urls), ada)
        assert status == 422, error
        assert error["details"]["errors"][0]["loc"][:2] == ["body", "urls"]
    status, error = booted.call("POST", "/api/v1/accounts/validate", body(fake_binance, api_secret=None), ada)
    assert (status, error["details"]["errors"][0]["loc"]) == (422, ["body", "api_secret"])


def test_an_unreachable_exchange_is_a_503_not_a_verdict(booted, users, fake_binance):
    ada = booted.token("ada")
    dead = fake_binance.url
    fake_binance.stop()
    status, error = booted.call("POST", "/api/v1/accounts/validate", body(fake_binance, urls={"all": dead}), ada)
    assert (status, error["code"]) == (503, "EXCHANGE_UNAVAILABLE")
    assert no_secret_in(error, API_KEY, API_SECRET)


def test_test_checks_a_stored_account_and_records_the_verdict(booted, users, fake_binance):
    ada = booted.token("ada")
    status, good = booted.call("POST", "/api/v1/accounts", body(fake_binance), ada)
    assert status == 201, good
    status, bad = booted.call("POST", "/api/v1/accounts", body(fake_binance, name="wrong", api_key=WRONG_KEY), ada)
    assert status == 201, bad

    status, answer = booted.call("POST", f"/api/v1/accounts/{good['id']}/test", token=ada)
    assert status == 200, answer
    assert answer["success"] is True and float(answer["balance"]["USDT"]) == 1000.0
    assert no_secret_in(answer, API_KEY, API_SECRET)
    account = booted.call("GET", f"/api/v1/accounts/{good['id']}", token=ada)[1]
    assert account["is_valid"] is True and account["last_validated_at"] is not None

    status, answer = booted.call("POST", f"/api/v1/accounts/{bad['id']}/test", token=ada)
    assert status == 200, answer
    assert answer["success"] is False and "-2015" in answer["message"]
    assert no_secret_in(answer, WRONG_KEY, API_SECRET)
    account = booted.call("GET", f"/api/v1/accounts/{bad['id']}", token=ada)[1]
    assert account["is_valid"] is False and account["last_validated_at"] is not None

    # Another user's account stays hidden.
    status, _ = booted.call("POST", f"/api/v1/accounts/{good['id']}/test", token=booted.token("bob"))
    assert status == 404
