"""`CcxtVenue` with real ccxt over HTTP to the fake Binance on 127.0.0.1."""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal

import pytest

from tests.fake_exchange.fixtures import server_balance, venue_on
from trading.events import (
    LIMIT,
    MARKET,
    CancelOrder,
    ForeignOrderFound,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)
from trading.markets import Side
from trading.venues.ccxt_venue import CcxtVenue

D = Decimal
ACCOUNT = "binance"


def order(cid: str, side: Side = Side.BUY, price: str | None = "1.0500", qty: str = "20",
          kind: str = LIMIT) -> OrderSubmitted:
    return OrderSubmitted(account_id=ACCOUNT, bot_id="bot-1", client_order_id=cid, symbol="XRP/USDT", side=side,
                          order_type=kind, quantity=D(qty), price=None if price is None else D(price))


def poll_until(venue: CcxtVenue, condition, timeout: float = 8.0) -> list:
    """Poll like the exchange actor's ticks until `condition(events so far)` holds."""
    events: list = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events += venue.poll()
        if condition(events):
            return events
        time.sleep(0.05)
    raise AssertionError(f"not reached within {timeout} s; events: {events}")


def of(kind, events):
    return [e for e in events if isinstance(e, kind)]


def test_markets_come_from_the_exchange_info_as_exact_decimals(fake_binance):
    market = venue_on(fake_binance).market("XRP/USDT")
    assert (market.tick_size, market.step_size, market.min_amount, market.min_notional) == (
        D("0.0001"), D("0.1"), D("0.1"), D("5"))
    assert (market.maker_fee, market.taker_fee, market.fee_in_received_asset) == (D("0.001"), D("0.001"), True)
    assert all(isinstance(v, Decimal) for v in (market.tick_size, market.step_size, market.maker_fee))


def test_an_order_goes_out_with_its_client_id_and_exact_precision(fake_binance):
    venue = venue_on(fake_binance)
    events = venue.submit(order("td-abc-000001", price="1.0500", qty="20.0"))
    assert [type(e) for e in events] == [OrderAccepted]
    [sent] = fake_binance.requests_to("POST", "/api/v3/order")
    assert sent.params["newClientOrderId"] == "td-abc-000001"
    assert (D(sent.params["price"]), D(sent.params["quantity"])) == (D("1.05"), D("20"))
    assert "e" not in sent.params["price"].lower() and "e" not in sent.params["quantity"].lower()
    assert events[0].exchange_order_id == str(fake_binance.orders[0]["orderId"])


def test_fills_carry_the_servers_fee_and_balances_match_the_servers(fake_binance):
    venue = venue_on(fake_binance)
    venue.submit(order("td-abc-000001", price="1.0500", qty="20"))
    fake_binance.set_price("XRPUSDT", "1.0400")
    [fill] = of(OrderFilled, poll_until(venue, lambda ev: of(OrderFilled, ev)))
    [trade] = fake_binance.trades
    assert (fill.trade_id, fill.price, fill.quantity, fill.fee, fill.fee_currency, fill.is_maker, fill.order_completed) == (
        f"XRPUSDT-{trade['id']}", D("1.05"), D("20"), trade["commission"], "XRP", True, True)
    venue.poll()
    for asset in ("USDT", "XRP"):
        assert (venue.balance(asset).free, venue.balance(asset).locked) == server_balance(fake_binance, asset)
    assert venue.poll() == []  # the trade is booked once


def test_a_market_order_books_its_fills_from_the_answer(fake_binance):
    venue = venue_on(fake_binance)
    events = venue.submit(order("td-abc-000002", side=Side.SELL, price=None, qty="10", kind=MARKET))
    assert [type(e) for e in events] == [OrderAccepted, OrderFilled]
    assert (events[1].fee, events[1].fee_currency, events[1].is_maker) == (D("0.011"), "USDT", False)
    assert of(OrderFilled, venue.poll()) == []


def test_a_timeout_on_submit_is_resolved_by_lookup_without_a_second_order(fake_binance):
    venue = venue_on(fake_binance, timeout_ms=400)
    fake_binance.fail(1.0, ("timeout",), slow_s=1.0)
    assert venue.submit(order("td-abc-000003")) == []
    fake_binance.heal()
    events = poll_until(venue, lambda ev: of(OrderAccepted, ev))
    assert [e.client_order_id for e in of(OrderAccepted, events)] == ["td-abc-000003"]
    assert len(fake_binance.requests_to("POST", "/api/v3/order")) == 1
    assert [o["clientOrderId"] for o in fake_binance.orders] == ["td-abc-000003"]


def test_an_order_not_found_within_the_grace_window_is_lost_and_may_still_fill(fake_binance):
    venue = venue_on(fake_binance, not_found_grace_s=0.6)
    fake_binance.fail(1.0, ("503",))
    started = time.monotonic()
    assert venue.submit(order("td-abc-000004")) == []
    fake_binance.heal()
    events = poll_until(venue, lambda ev: of(OrderRejected, ev))
    assert time.monotonic() - started >= 0.6
    [lost] = of(OrderRejected, events)
    assert lost.code == "LOST" and len(fake_binance.requests_to("POST", "/api/v3/order")) == 1
    # The first send arrives after all (a slow path inside the exchange) and fills.
    fake_binance.engine.place({"symbol": "XRPUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                               "quantity": "20", "price": "1.0500", "newClientOrderId": "td-abc-000004"})
    fake_binance.set_price("XRPUSDT", "1.05")
    [late] = of(OrderFilled, poll_until(venue, lambda ev: of(OrderFilled, ev)))
    assert late.client_order_id == "td-abc-000004" and late.quantity == D("20")


def test_a_refusal_before_processing_429_is_looked_up_then_sent_again(fake_binance):
    venue = venue_on(fake_binance)
    fake_binance.fail(1.0, ("429",), retry_after_s=1)
    assert venue.submit(order("td-abc-000005")) == []
    assert venue.status()["retry_in_s"] > 0.5  # Retry-After is honoured
    fake_binance.heal()
    events = poll_until(venue, lambda ev: of(OrderAccepted, ev))
    assert of(OrderAccepted, events)[0].client_order_id == "td-abc-000005"
    posts = fake_binance.requests_to("POST", "/api/v3/order")
    lookups = fake_binance.requests_to("GET", "/api/v3/order")
    assert [p.fault for p in posts] == ["429", None] and lookups  # looked up before the second send
    assert len(fake_binance.orders) == 1


@pytest.mark.parametrize("price, qty, code", [
    ("1.05005", "20", "PRICE_NOT_ON_TICK"),  # ccxt would round it: refused before it leaves
    ("1.0500", "20.05", "AMOUNT_NOT_ON_STEP"),
    ("1.0500", "1", "BELOW_MIN_NOTIONAL"),
])
def test_orders_off_the_market_rules_never_leave(fake_binance, price, qty, code):
    [rejected] = venue_on(fake_binance).submit(order("td-abc-000006", price=price, qty=qty))
    assert isinstance(rejected, OrderRejected) and rejected.code == code
    assert fake_binance.requests_to("POST", "/api/v3/order") == []


def test_exchange_refusals_become_rejections(fake_binance):
    venue = venue_on(fake_binance)
    [poor] = venue.submit(order("td-abc-000012", qty="5000"))
    assert isinstance(poor, OrderRejected) and poor.code == "INSUFFICIENT_BALANCE"
    # The exchange raised its minimum after the markets were loaded (-1013 NOTIONAL).
    rules = fake_binance.engine.rules["XRPUSDT"]
    fake_binance.engine.rules["XRPUSDT"] = replace(rules, min_notional=D("50"))
    [refused] = venue.submit(order("td-abc-000013", qty="20"))
    assert isinstance(refused, OrderRejected) and refused.code == "MARKET_RULES" and "NOTIONAL" in refused.reason


def test_refused_keys_reject_orders_and_say_why(fake_binance):
    venue = venue_on(fake_binance, secret="wrong-secret")
    [rejected] = venue.submit(order("td-abc-000007"))
    assert rejected.code == "AUTHENTICATION_FAILED"
    assert "authentication failed" in venue.status()["auth_error"]
    assert fake_binance.orders == []


def test_cancel_releases_the_order(fake_binance):
    venue = venue_on(fake_binance)
    venue.submit(order("td-abc-000008"))
    [canceled] = venue.cancel(CancelOrder(account_id=ACCOUNT, bot_id="bot-1", client_order_id="td-abc-000008",
                                          symbol="XRP/USDT"))
    assert isinstance(canceled, OrderCanceled)
    assert server_balance(fake_binance, "USDT") == (D("1000"), D("0"))


def test_the_breaker_opens_in_an_outage_and_closes_when_the_exchange_answers(fake_binance):
    venue = venue_on(fake_binance)
    venue.submit(order("td-abc-000009"))
    fake_binance.outage(60)
    deadline = time.monotonic() + 8
    while venue.breaker.state != "open" and time.monotonic() < deadline:
        venue.poll()
        time.sleep(0.05)
    assert venue.breaker.state == "open" and venue.status()["consecutive_failures"] >= 3
    held = venue.submit(order("td-abc-000010"))  # held in the outbox, not sent into the outage
    assert held == [] and all(r.params.get("newClientOrderId") != "td-abc-000010" for r in fake_binance.requests)
    fake_binance.heal()
    events = poll_until(venue, lambda ev: venue.breaker.state == "closed" and of(OrderAccepted, ev))
    assert [e.client_order_id for e in of(OrderAccepted, events)] == ["td-abc-000010"]


def test_after_a_restart_missed_fills_are_booked_once_and_foreign_orders_reported(fake_binance):
    venue = venue_on(fake_binance)
    journal = [order("td-abc-000011")]
    journal += venue.submit(journal[0])
    fake_binance.set_price("XRPUSDT", "1.0")  # fills while the daemon is down
    fake_binance.engine.place({"symbol": "XRPUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
                               "quantity": "10", "price": "1.2000", "newClientOrderId": "td-zzz-000001"})
    again = venue_on(fake_binance)
    again.restore(journal)
    events = again.reconcile(["td-abc-000011"])
    [fill] = of(OrderFilled, events)
    assert fill.client_order_id == "td-abc-000011" and fill.order_completed
    [foreign] = of(ForeignOrderFound, events)
    assert foreign.client_order_id == "td-zzz-000001"
    assert of(OrderFilled, again.poll()) == [] and of(ForeignOrderFound, again.reconcile([])) == []
