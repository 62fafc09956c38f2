"""Issue 5's fault test: a grid bot against a fake Binance that fails 20% of requests (503,
429 with Retry-After, answers slower than the client's timeout) and goes down for a while.

The bot keeps running, the breaker opens in the outage and closes after it, and at the end
the journal agrees with the server's own record order by order: no duplicate client id,
no order the journal does not know, every trade booked once with the server's fee.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from actors.exchange import open_client_order_ids
from actors.messages import ExchangeStatus, GetExchangeStatus, GetMarkets
from actors.reply import FutureReply
from actors.risk import exchange_name
from tests.actors.trading_stack import ACCOUNT, TradingStack
from tests.fake_exchange.fixtures import settings_for
from trading.events import BotStatusChanged, OrderFilled, OrderRejected, OrderSubmitted
from trading.grid.geometry import GridParams
from trading.strategies.grid import GridStrategy
from trading.venues.ccxt_venue import CcxtVenue

D = Decimal
GRID = GridParams(lower_price=D("1.00"), upper_price=D("1.20"), grid_count=10, order_amount=D("20"))
WALK = ["1.0950", "1.0790", "1.0590", "1.0410", "1.0650", "1.0990", "1.1230", "1.1010", "1.0770", "1.1190",
        "1.0850", "1.0610", "1.0830", "1.1050", "1.1270", "1.0980"]


def ask(stack: TradingStack, make):
    reply = FutureReply()
    stack.directory.tell(exchange_name(ACCOUNT), make(reply))
    return reply.wait(10)


@pytest.mark.parametrize("outage_s", [pytest.param(3.0), pytest.param(30.0, marks=pytest.mark.slow)])
def test_a_grid_bot_survives_failures_and_an_outage(engine, scheduler, bus, fake_binance, outage_s):
    settings = settings_for(fake_binance, timeout_ms=400, not_found_grace_s=1.5, balance_interval_s=0.2,
                            breaker_failures=3, breaker_cooldown_s=0.5, backoff_max_s=1.0)
    fake_binance.faults.slow_s = 0.8
    stack = TradingStack(engine, scheduler, bus, markets={}, balances={}, bots=[("grid", "XRP/USDT")],
                         venue_factory=lambda: CcxtVenue(ACCOUNT, settings))
    stack.markets.update(ask(stack, lambda reply: GetMarkets(reply=reply)))
    feed = stack.add_feed("XRP/USDT")
    fake_binance.set_price("XRPUSDT", "1.1000")
    bot = stack.add_bot("grid", "XRP/USDT", lambda context: GridStrategy(context, GRID), feed)
    stack.publish(feed, "1.1000")

    def status() -> ExchangeStatus:
        return ask(stack, lambda reply: GetExchangeStatus(reply=reply))

    fake_binance.fail(0.2, ("503", "429", "timeout"), retry_after_s=1)
    breaker_states = set()
    for step, price in enumerate(WALK):
        if step == len(WALK) // 2:
            fake_binance.outage(outage_s)
            deadline = time.monotonic() + outage_s
            while time.monotonic() < deadline:
                breaker_states.add(status().circuit_breaker)
                time.sleep(0.1)
        fake_binance.set_price("XRPUSDT", price)
        stack.publish(feed, price)
        for _ in range(6):
            breaker_states.add(status().circuit_breaker)
            time.sleep(0.1)
    fake_binance.heal()
    assert "open" in breaker_states, breaker_states

    def journal():
        return stack.store.read_all_events(account_id=ACCOUNT)

    def settled() -> bool:
        events = journal()
        server_open = {o["clientOrderId"] for o in fake_binance.orders if o["status"] in ("NEW", "PARTIALLY_FILLED")}
        fills = [e for e in events if isinstance(e, OrderFilled)]
        return (status().circuit_breaker == "closed" and set(open_client_order_ids(events)) == server_open
                and len(fills) == len(fake_binance.trades))

    assert stack.wait_until(settled, timeout=30), "the journal and the server never agreed"
    events = journal()
    submitted = [e for e in events if isinstance(e, OrderSubmitted)]
    cids = [e.client_order_id for e in submitted]
    assert len(cids) == len(set(cids)), "a client id was used twice"
    assert fake_binance.engine.duplicates == []
    server_orders = {o["clientOrderId"]: o for o in fake_binance.orders}
    assert set(server_orders) <= set(cids), "the server holds an order the journal does not know"
    rejected = {e.client_order_id: e.code for e in events if isinstance(e, OrderRejected)}
    for cid in set(cids) - set(server_orders):  # never reached the exchange: the journal says so
        assert cid in rejected, cid
    fills = {e.trade_id: e for e in events if isinstance(e, OrderFilled)}
    assert len(fills) == len([e for e in events if isinstance(e, OrderFilled)]) == len(fake_binance.trades)
    for trade in fake_binance.trades:
        fill = fills[f"XRPUSDT-{trade['id']}"]
        assert (fill.client_order_id, fill.quantity, fill.price, fill.fee, fill.fee_currency) == (
            trade["clientOrderId"], trade["qty"], trade["price"], trade["commission"], trade["commissionAsset"])
    statuses = [e.status for e in stack.store.read_all_events(bot_id=bot) if isinstance(e, BotStatusChanged)]
    assert statuses[-1] == "running", statuses
    assert sum(fake_binance.faults.counts.values()) > 5 and len(fake_binance.trades) >= 4
