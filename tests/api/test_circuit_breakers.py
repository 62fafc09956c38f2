"""`GET /api/v1/system/circuit-breakers`, `/health/ready` and the breaker gauge, over real
HTTP, with a live (ccxt) exchange actor on the fake Binance that goes down and comes back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from actors.metrics import ActorMetrics
from tests.actors.trading_stack import ACCOUNT, TradingStack
from tests.api.auth_helpers import access_token, add_user, bearer, serve
from tests.api.conftest import LiveServer
from tests.api.test_health import gateway
from tests.fake_exchange.fixtures import settings_for
from trading.venues.ccxt_venue import CcxtVenue


@pytest.fixture
def live(engine, scheduler, bus, fake_binance) -> Iterator[tuple[LiveServer, CollectorRegistry]]:
    registry = CollectorRegistry()
    settings = settings_for(fake_binance, breaker_cooldown_s=0.3, balance_interval_s=0.1)
    stack = TradingStack(engine, scheduler, bus, markets={}, balances={}, metrics=ActorMetrics(registry),
                         venue_factory=lambda: CcxtVenue(ACCOUNT, settings))
    server = serve(engine, actors=gateway(stack, stack.add_feed("XRP/USDT")))
    yield server, registry
    server.close()


def wait_for(condition, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_the_breaker_shows_open_in_an_outage_and_closed_after_it(engine, live, fake_binance):
    server, registry = live
    add_user(engine, "root", "admin")
    add_user(engine, "vera", "viewer")
    admin = bearer(access_token(server, "root"))

    def breaker() -> dict[str, Any]:
        [entry] = server.request("GET", "/api/v1/system/circuit-breakers", headers=admin).body["data"]
        return entry

    def gauge() -> float | None:
        return registry.get_sample_value("traderd_circuit_breaker_state", {"account": ACCOUNT})

    assert breaker()["state"] == "closed" and breaker()["ready"] is True
    fake_binance.outage(60)
    wait_for(lambda: breaker()["state"] in ("open", "half_open"))
    assert breaker()["times_opened"] >= 1 and "ExchangeNotAvailable" in breaker()["last_error"]
    ready = server.request("GET", "/health/ready")
    assert ready.status == 503
    assert ready.body["components"]["exchanges"]["accounts"][ACCOUNT]["circuit_breaker"] in ("open", "half_open")
    wait_for(lambda: gauge() in (1.0, 2.0))

    fake_binance.heal()
    wait_for(lambda: breaker()["state"] == "closed")
    wait_for(lambda: server.request("GET", "/health/ready").status == 200)
    wait_for(lambda: gauge() == 0.0)
    # A user who owns no account sees none.
    viewer = bearer(access_token(server, "vera"))
    assert server.request("GET", "/api/v1/system/circuit-breakers", headers=viewer).body == {"data": []}
