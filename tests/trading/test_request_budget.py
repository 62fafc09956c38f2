"""The daemon's own request budget: a token bucket per account, and a venue that keeps
to it by not sending what is over (real ccxt to the fake Binance)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.fake_exchange.fixtures import settings_for
from trading.events import LIMIT, OrderSubmitted
from trading.markets import Side
from trading.venues.ccxt_venue import CcxtVenue
from trading.venues.request_budget import RequestBudget


def test_a_burst_up_to_the_budget_then_one_request_per_share_of_a_minute():
    budget = RequestBudget(per_minute=3, now=0.0)
    assert [budget.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert budget.take(0.0) == pytest.approx(20.0)  # 60 s / 3
    assert budget.take(10.0) == pytest.approx(10.0)  # half a token came back, nothing spent
    assert budget.take(20.0) == 0.0
    assert budget.take(20.0) == pytest.approx(20.0)


def test_a_budget_needs_a_request_a_minute():
    with pytest.raises(ValueError):
        RequestBudget(per_minute=0, now=0.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_venue_sends_nothing_over_its_budget(fake_binance):
    clock = Clock()
    venue = CcxtVenue("binance", settings_for(fake_binance, requests_per_minute=6), monotonic=clock)
    venue.restore([])  # markets and balances: two of the six
    for n in range(10):  # at one instant: four go out, six wait in the venue's outbox
        venue.submit(OrderSubmitted(
            account_id="binance", bot_id="bot-1", client_order_id=f"td-budget-{n:06d}", symbol="XRP/USDT",
            side=Side.BUY, order_type=LIMIT, quantity=Decimal("20"), price=Decimal("1.0500"),
        ))
    assert len(fake_binance.requests) == 6
    assert len(fake_binance.requests_to("POST", "/api/v3/order")) == 4
    clock.now += 30.0  # half a minute: three more requests, taken by waiting orders
    venue.poll()
    assert len(fake_binance.requests_to("POST", "/api/v3/order")) == 7
    assert len(fake_binance.requests) == 9
