"""Helpers for tests against the fake Binance: the server in a thread, and venues on it."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from tests.fake_exchange.binance import API_KEY, API_SECRET, FakeBinanceServer
from tests.fake_exchange.binance_engine import Engine
from trading.venues.ccxt_venue import CcxtSettings, CcxtVenue

START_BALANCES = {"USDT": "1000", "XRP": "500"}


def serve_fake_binance() -> Iterator[FakeBinanceServer]:
    """The `fake_binance` fixture (tests/conftest.py): 1000 USDT and 500 XRP, XRP at 1.1."""
    server = FakeBinanceServer(Engine(balances=dict(START_BALANCES))).start()
    server.set_price("XRPUSDT", "1.1000")
    yield server
    server.stop()


def settings_for(server: FakeBinanceServer, **overrides: Any) -> CcxtSettings:
    """A Binance account on `server`, tuned for tests: fast polls and short windows."""
    values: dict[str, Any] = {
        "exchange": "binance", "api_key": API_KEY, "secret": API_SECRET, "urls": {"all": server.url},
        "timeout_ms": 1500, "rate_limit_ms": 1, "poll_interval_s": 0.1, "not_found_grace_s": 1.0,
        "breaker_failures": 3, "breaker_cooldown_s": 0.5, "backoff_initial_s": 0.05, "backoff_max_s": 0.5,
    }
    values.update(overrides)
    return CcxtSettings(**values)


def venue_on(server: FakeBinanceServer, account_id: str = "binance", **overrides: Any) -> CcxtVenue:
    venue = CcxtVenue(account_id, settings_for(server, **overrides))
    venue.restore([])
    return venue


def server_balance(server: FakeBinanceServer, asset: str) -> tuple[Decimal, Decimal]:
    return server.engine.balance(asset)
