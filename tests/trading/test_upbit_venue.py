"""`CcxtVenue` on Upbit: real `ccxt.upbit` over HTTP to the stateful fake on 127.0.0.1.

Upbit has no `fetchMyTrades`: fills come from each order's `trades` (their fee from the
order's `paid_fee`), or, when an exchange gives no trade ids, from the filled amount under an
id derived from the order id and the cumulative amount. Either way a fill is booked once,
however often the order is polled and across a restart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.fake_exchange.upbit import ACCESS_KEY, SECRET, FakeUpbit, serve_fake_upbit
from trading.events import (
    LIMIT,
    MARKET,
    CancelOrder,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)
from trading.markets import Side
from trading.venues.ccxt_venue import CcxtSettings, CcxtVenue, unsupported_reason
from trading.venues.ccxt_venue.order_fills import new_fills

D = Decimal
ACCOUNT = "upbit"
START = {"KRW": "1000000", "BTC": "0.01", "XRP": "0"}


@pytest.fixture
def upbit() -> Iterator[tuple[FakeUpbit, Any]]:
    fake, server = serve_fake_upbit(dict(START))
    fake.set_price("KRW-BTC", "150000000")
    yield fake, server
    server.stop()


def venue_on(server: Any, **overrides: Any) -> CcxtVenue:
    values: dict[str, Any] = {
        "exchange": "upbit", "api_key": ACCESS_KEY, "secret": SECRET, "urls": {"all": server.url},
        "timeout_ms": 1500, "rate_limit_ms": 1, "poll_interval_s": 0.1, "not_found_grace_s": 1.0,
        "breaker_failures": 3, "breaker_cooldown_s": 0.3, "backoff_initial_s": 0.05, "backoff_max_s": 0.3,
    }
    values.update(overrides)
    venue = CcxtVenue(ACCOUNT, CcxtSettings(**values))
    venue.restore([])
    return venue


def order(cid: str, side: Side = Side.BUY, price: str | None = "149999500", qty: str = "0.0001",
          kind: str = LIMIT) -> OrderSubmitted:
    return OrderSubmitted(account_id=ACCOUNT, bot_id="bot-1", client_order_id=cid, symbol="BTC/KRW", side=side,
                          order_type=kind, quantity=D(qty), price=None if price is None else D(price))


def poll_until(venue: CcxtVenue, condition, timeout: float = 8.0) -> list:
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


def posted(server: Any) -> list[dict]:
    return [r.json() for r in server.requests if r.method == "POST" and r.path == "/v1/orders"]


def assert_balances_match(venue: CcxtVenue, fake: FakeUpbit) -> None:
    venue.poll()
    for asset in ("KRW", "BTC"):
        free, used = fake.balance(asset)
        assert (venue.balance(asset).free, venue.balance(asset).locked) == (free, used), asset


def test_upbit_is_supported_without_fetch_my_trades():
    assert unsupported_reason("upbit") is None


def test_a_krw_grid_order_leaves_on_the_band_tick_with_our_identifier(upbit):
    fake, server = upbit
    venue = venue_on(server)
    events = venue.submit(order("td-up-000001", price="149999500"))
    assert [type(e) for e in events] == [OrderAccepted]
    [body] = posted(server)
    assert body == {"market": "KRW-BTC", "side": "bid", "ord_type": "limit",
                    "price": "149999000", "volume": "0.0001", "identifier": "td-up-000001"}
    assert events[0].exchange_order_id == fake.orders[0]["uuid"]
    assert_balances_match(venue, fake)


def test_a_fill_is_booked_once_with_the_fee_however_often_it_is_polled(upbit):
    fake, server = upbit
    venue = venue_on(server)
    venue.submit(order("td-up-000002"))
    fake.set_price("KRW-BTC", "149999000")
    events = poll_until(venue, lambda ev: of(OrderFilled, ev))
    for _ in range(4):
        events += venue.poll()
    [fill] = of(OrderFilled, events)
    [trade] = fake.orders[0]["trades"]
    assert (fill.trade_id, fill.price, fill.quantity, fill.fee, fill.fee_currency, fill.order_completed) == (
        f"KRW-BTC-{trade['uuid']}", D("149999000"), D("0.0001"), D(fake.orders[0]["paid_fee"]), "KRW", True)
    assert fill.fee == D("7.49995")
    assert_balances_match(venue, fake)
    # After a restart from the journal, nothing is booked again.
    again = CcxtVenue(ACCOUNT, venue.settings)
    again.restore([order("td-up-000002"), *events])
    assert of(OrderFilled, again.reconcile(["td-up-000002"]) + again.poll()) == []


def test_without_trade_ids_the_fill_gets_a_stable_id_and_is_booked_once(upbit):
    fake, server = upbit
    fake.trade_ids = False
    venue = venue_on(server)
    venue.submit(order("td-up-000003"))
    fake.set_price("KRW-BTC", "149000000")
    events = poll_until(venue, lambda ev: of(OrderFilled, ev))
    for _ in range(4):
        events += venue.poll()
    [fill] = of(OrderFilled, events)
    uuid = fake.orders[0]["uuid"]
    assert (fill.trade_id, fill.price, fill.quantity, fill.fee) == (
        f"KRW-BTC-{uuid}@0.0001", D("149999000"), D("0.0001"), D("7.49995"))
    assert_balances_match(venue, fake)


def test_a_market_buy_spends_a_cost_and_books_its_fill(upbit):
    """CCXT.md: `ord_type=price` with the KRW to spend; Upbit ends it `cancel` with the fill."""
    fake, server = upbit
    venue = venue_on(server)
    venue.submit(order("td-up-000004", price="150000000", qty="0.0001", kind=MARKET))
    assert posted(server) == [{"market": "KRW-BTC", "side": "bid", "ord_type": "price", "price": "15000",
                               "identifier": "td-up-000004"}]
    [fill] = of(OrderFilled, poll_until(venue, lambda ev: of(OrderFilled, ev)))
    assert (fill.quantity, fill.price, fill.fee) == (D("0.0001"), D("150000000"), D("7.5"))
    assert of(OrderFilled, venue.poll()) == []
    assert_balances_match(venue, fake)


def test_a_timeout_on_submit_is_resolved_by_identifier_without_a_second_order(upbit):
    fake, server = upbit
    venue = venue_on(server, timeout_ms=400)
    fake.slow_s = 1.0
    assert venue.submit(order("td-up-000005")) == []
    time.sleep(1.1)  # the answer comes after ccxt gave up; the order stands
    events = poll_until(venue, lambda ev: of(OrderAccepted, ev))
    assert [e.client_order_id for e in of(OrderAccepted, events)] == ["td-up-000005"]
    assert len(posted(server)) == 1 and [o["identifier"] for o in fake.orders] == ["td-up-000005"]
    lookups = [r.params for r in server.requests if r.method == "GET" and r.path == "/v1/order"]
    assert {"identifier": "td-up-000005"} in lookups


def test_a_lost_order_still_takes_its_late_fill(upbit):
    """Not found within the grace window: LOST; the exchange had it after all and it fills."""
    fake, server = upbit
    venue = venue_on(server, timeout_ms=300, not_found_grace_s=0.3, reconcile_interval_s=0.2)
    fake.slow_s = 1.0
    assert venue.submit(order("td-up-000006")) == []
    time.sleep(1.1)
    placed = fake.orders.pop()  # the exchange shows it to nobody yet...
    events = poll_until(venue, lambda ev: of(OrderRejected, ev))
    assert of(OrderRejected, events)[0].code == "LOST"
    fake.orders.append(placed)  # ...then it appears, and fills
    fake.set_price("KRW-BTC", "149000000")
    [late] = of(OrderFilled, poll_until(venue, lambda ev: of(OrderFilled, ev)))
    assert late.client_order_id == "td-up-000006" and late.fee == D("7.49995")
    assert len(posted(server)) == 1


def test_tick_and_minimum_come_from_the_exchange(upbit):
    """Not ccxt's 1e-8 and empty limits: the tick Upbit reports at the current price, and
    the 5,000 KRW minimum; a grid order under it never leaves."""
    fake, server = upbit
    venue = venue_on(server)
    market = venue.market("BTC/KRW")
    assert (market.tick_size, market.min_notional, market.quote, market.fee_in_received_asset) == (
        D("1000"), D("5000"), "KRW", False)
    [refused] = venue.submit(order("td-up-000007", price="149999000", qty="0.00003"))
    assert isinstance(refused, OrderRejected) and refused.code == "BELOW_MIN_NOTIONAL"
    assert posted(server) == []


def test_cancel_goes_by_identifier_and_releases_the_krw(upbit):
    fake, server = upbit
    venue = venue_on(server)
    venue.submit(order("td-up-000008"))
    events = venue.cancel(CancelOrder(account_id=ACCOUNT, bot_id="bot-1", client_order_id="td-up-000008",
                                     symbol="BTC/KRW"))
    assert [type(e) for e in events] == [OrderCanceled]
    [delete] = [r for r in server.requests if r.method == "DELETE"]
    assert (delete.path, delete.params) == ("/v1/order", {"identifier": "td-up-000008"})
    assert fake.orders[0]["state"] == "cancel" and fake.balance("KRW") == (D("1000000"), D("0"))
    assert_balances_match(venue, fake)


def test_fees_without_trade_fees_are_shared_out_of_what_the_order_paid():
    """Upbit's order trades carry no fee: the order's `paid_fee` since the last booking is
    shared by cost, the last trade taking the remainder."""
    remote = {"id": "u1", "filled": "0.3", "fee": {"cost": "0.10000001", "currency": "KRW"}, "trades": [
        {"id": "a", "amount": "0.1", "price": "100"}, {"id": "b", "amount": "0.2", "price": "100"},
        {"id": "c", "amount": "0.1", "price": "100"}]}
    fills = new_fills(remote, is_booked=lambda t: t["id"] == "a", filled_before=D("0.1"), fee_before=D("0.02"),
                      quote="KRW", dec=lambda v: D(str(v)), derive=True)
    assert [(f["id"], f["fee"]["cost"]) for f in fills] == [("b", "0.05333334"), ("c", "0.02666667")]
