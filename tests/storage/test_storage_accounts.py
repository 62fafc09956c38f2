"""`storage.accounts` reads of live accounts made through the API, on a real database: the
sealed keys and URLs of every account in a fixed number of queries, and the one helper
that unseals them into `CcxtSettings`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event

from storage import account_projections
from storage.accounts import LiveAccount, api_live_accounts
from storage.journal_store import JournalStore
from storage.sealing import Sealer, SealingError, encode_sealed, parse_key
from trading.account_events import AccountCreated

KEY = parse_key("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
OTHER_KEY = parse_key("ff" * 32)
PROJECTORS = account_projections
"""Imported for its projector of `AccountCreated`, which makes the `accounts` rows."""


def live_account(sealer: Sealer, account_id: str, *, password: str | None = None) -> AccountCreated:
    clear = {"api_key": f"key-{account_id}", "api_secret": f"secret-{account_id}", "password": password}
    sealed = {f"{name}_sealed": encode_sealed(sealer.seal(value, account_id, name))
              for name, value in clear.items() if value is not None}
    return AccountCreated(account_id=account_id, owner_id=None, name=account_id, exchange="binance",
                          is_testnet=True, urls={"all": f"http://127.0.0.1:9/{account_id}"}, **sealed)


def add_accounts(engine: Engine, count: int, start: int = 0) -> list[str]:
    sealer = Sealer(KEY)
    ids = [f"acct-{index:03d}" for index in range(start, start + count)]
    JournalStore(engine).append([live_account(sealer, account_id) for account_id in ids])
    return ids


@contextmanager
def counted_queries(engine: Engine) -> Iterator[list[str]]:
    """The SELECTs run on `engine` inside the block."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_live_accounts_are_read_in_the_same_number_of_queries_however_many_there_are(engine):
    add_accounts(engine, 1)
    with counted_queries(engine) as one:
        assert len(api_live_accounts(engine)) == 1
    add_accounts(engine, 9, start=1)
    with counted_queries(engine) as ten:
        assert len(api_live_accounts(engine)) == 10

    assert len(ten) == len(one) <= 2, ten


def test_each_live_account_gets_its_own_sealed_keys_and_urls(engine):
    sealer = Sealer(KEY)
    JournalStore(engine).append([
        live_account(sealer, "with-pass", password="pass-with-pass"),
        live_account(sealer, "plain"),
        AccountCreated(account_id="sim", owner_id=None, name="sim", exchange="paper"),
        AccountCreated(account_id="keyless", owner_id=None, name="keyless", exchange="kraken"),
    ])

    accounts = {account.id: account for account in api_live_accounts(engine)}

    assert sorted(accounts) == ["plain", "with-pass"]  # no paper account, none without keys
    assert sorted(accounts["with-pass"].sealed) == ["api_key", "api_secret", "password"]
    assert sorted(accounts["plain"].sealed) == ["api_key", "api_secret"]
    assert accounts["plain"].urls == {"all": "http://127.0.0.1:9/plain"}
    assert sealer.unseal(accounts["plain"].sealed["api_secret"], "plain", "api_secret") == "secret-plain"
    (only,) = api_live_accounts(engine, "with-pass")
    assert only == accounts["with-pass"]


def test_ccxt_settings_unseal_the_keys_the_account_was_made_with(engine):
    sealer = Sealer(KEY)
    JournalStore(engine).append([live_account(sealer, "a1", password="pass-a1")])
    (account,) = api_live_accounts(engine)

    settings = account.ccxt_settings(sealer, timeout_ms=1234)

    assert (settings.exchange, settings.api_key, settings.secret, settings.password) == (
        "binance", "key-a1", "secret-a1", "pass-a1")
    assert settings.sandbox is True and dict(settings.urls) == {"all": "http://127.0.0.1:9/a1"}
    assert settings.timeout_ms == 1234
    with pytest.raises(SealingError):
        account.ccxt_settings(Sealer(OTHER_KEY))


def test_ccxt_settings_without_a_password_leave_it_none():
    sealer = Sealer(KEY)
    sealed = {name: sealer.seal(f"{name}-x", "x", name) for name in ("api_key", "api_secret")}

    settings = LiveAccount("x", "kraken", False, sealed, {}).ccxt_settings(sealer)

    assert (settings.api_key, settings.secret, settings.password, settings.sandbox) == (
        "api_key-x", "api_secret-x", None, False)
