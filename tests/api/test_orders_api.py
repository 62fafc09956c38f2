"""Orders, trades, positions and portfolio over HTTP, on real actors and a real database."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from actors.risk import RiskLimits
from tests.api.trading_api import SYMBOL, TradingApi


@pytest.fixture
def api(engine, scheduler, bus) -> Iterator[TradingApi]:
    api = TradingApi(engine, scheduler, bus, risk=RiskLimits(max_order_notional=Decimal("5000")))
    yield api
    api.close()


def test_a_resting_limit_order_is_open_listed_and_cancelled(api):
    api.price("50000")
    placed = api.order(side="buy", order_type="limit", quantity="0.01", price="49000.00")
    assert placed.status == 201, placed.body
    order = placed.body
    assert order["status"] == "open"
    assert order["client_order_id"].startswith("td-m") and order["client_order_id"].endswith("-000001")
    assert (order["quantity"], order["price"], order["filled_quantity"], order["average_fill_price"]) == ("0.01", "49000.00", "0", None)
    assert order["exchange_order_id"] == "paper-1" and order["bot_id"] is None

    listed = api.call("GET", "/orders", "alice").body
    assert [item["id"] for item in listed["items"]] == [order["id"]] and listed["total"] == 1
    assert api.call("GET", f"/orders/{order['id']}", "alice").body == order
    assert api.call("GET", f"/orders/{order['client_order_id']}", "alice").body["id"] == order["id"]

    cancelled = api.call("DELETE", f"/orders/{order['id']}", "alice")
    assert cancelled.status == 200, cancelled.body
    assert cancelled.body == {"success": True, "order_id": order["id"], "status": "cancelled", "message": None}
    assert api.call("GET", "/orders", "alice").body["total"] == 0
    assert api.call("GET", "/orders?status=cancelled", "alice").body["total"] == 1
    again = api.call("DELETE", f"/orders/{order['id']}", "alice")
    assert (again.status, again.body["code"]) == (409, "CONFLICT")


def test_a_market_order_fills_and_shows_in_trades_positions_and_cost_basis(api):
    api.price("50000")
    placed = api.order(side="buy", order_type="market", quantity="0.02")
    assert placed.status == 201, placed.body
    order = placed.body
    # Taker fee 0.1 %, paid in the base received: 0.00002 BTC.
    assert (order["status"], order["filled_quantity"], order["average_fill_price"], order["fee"], order["fee_currency"]) == (
        "filled", "0.02", "50000", "0.00002", "BTC",
    )

    trades = api.call("GET", "/trades", "alice").body
    assert trades["total"] == 1
    trade = trades["items"][0]
    assert (trade["side"], trade["price"], trade["quantity"], trade["quote_quantity"], trade["fee"]) == (
        "buy", "50000", "0.02", "1000.00", "0.00002",
    )
    assert trade["client_order_id"] == order["client_order_id"] and trade["is_maker"] is False

    api.price("51000")
    positions = api.call("GET", "/positions", "alice").body
    assert positions["total"] == 1
    position = positions["items"][0]
    # 0.01998 BTC cost 1000 USDT: entry 50050.05005.. -> 50050.05 on the tick.
    assert position == {
        "account_id": "paper", "symbol": SYMBOL, "base": "BTC", "quote": "USDT",
        "quantity": "0.01998", "entry_price": "50050.05", "cost": "1000.00",
        "current_price": "51000", "notional_value": "1018.98", "unrealized_pnl": "18.98",
        "realized_pnl": "0.00", "return_pct": "1.90",
    }
    assert positions["summary"] == {"total_positions": 1, "by_quote": {"USDT": {
        "cost": "1000.00", "notional_value": "1018.98", "unrealized_pnl": "18.98", "realized_pnl": "0.00",
    }}}
    assert api.call("GET", "/positions/BTC-USDT", "alice").body["items"] == [position]

    # Sell half at 51000: proceeds 0.00999 x 51000 = 509.49, less the 0.1 % fee in quote
    # (0.50949); the FIFO cost of 0.00999 of the lot is 500.00 exactly.
    sold = api.order(side="sell", order_type="market", quantity="0.00999")
    assert sold.status == 201, sold.body
    basis = api.call("GET", "/journal/cost-basis/BTC-USDT", "alice").body
    assert basis["symbol"] == SYMBOL
    (book,) = basis["items"]
    assert (book["quantity"], book["cost"], book["average_cost"], book["realized_pnl"], book["trades"]) == (
        "0.00999", "500.00", "50050.05", "8.98", 2,
    )
    assert book["lots"] == [{"quantity": "0.00999", "price": "50050.05", "cost": "500.00"}]

    pnl = api.call("GET", "/portfolio/pnl", "alice").body
    assert pnl["total_realized_pnl"] == "8.98051" and len(pnl["items"]) == 1
    assert pnl["items"][0]["trades"] == 2

    portfolio = api.call("GET", "/portfolio", "alice").body
    # USDT: 10000 - 1000 + 509.49 - 0.50949; BTC 0.00999 at 51000 = 509.49.
    usdt = Decimal("10000") - Decimal("1000") + Decimal("509.49") - Decimal("0.50949")
    assert Decimal(portfolio["total_value"]) == usdt + Decimal("509.49")
    assert portfolio["unpriced_assets"] == []
    stats = api.call("GET", "/dashboard/stats", "alice").body
    assert (stats["open_orders"], stats["accounts_connected"], stats["daily_pnl"]) == (0, 1, "8.98051")
    activity = api.call("GET", "/dashboard/activity?limit=3", "alice").body
    assert activity["total"] >= 6 and [item["type"] for item in activity["items"]][0] == "OrderFilled"


def test_refusals_map_to_api_errors(api):
    api.price("50000")
    denied = api.order(side="buy", order_type="limit", quantity="0.2", price="49000")
    assert (denied.status, denied.body["code"]) == (422, "RISK_LIMIT_BREACHED"), denied.body
    broke = api.order(side="sell", order_type="market", quantity="1")
    assert (broke.status, broke.body["code"]) == (422, "INSUFFICIENT_BALANCE"), broke.body
    tiny = api.order(side="buy", order_type="limit", quantity="0.00001", price="49000")
    assert (tiny.status, tiny.body["code"]) == (422, "BELOW_MIN_NOTIONAL")
    off_tick = api.order(side="buy", order_type="limit", quantity="0.01", price="49000.001")
    assert (off_tick.status, off_tick.body["code"], off_tick.body["details"]["rule"]) == (422, "VALIDATION_ERROR", "PRICE_NOT_ON_TICK")
    no_price = api.order(side="buy", order_type="limit", quantity="0.01")
    assert (no_price.status, no_price.body["details"]["errors"][0]["loc"]) == (422, ["body", "price"])
    # The refused order was journaled (a rejection shows in the history), the denied one not.
    history = api.call("GET", "/orders/history", "alice").body
    assert [item["status"] for item in history["items"]] == ["rejected"]


def test_a_resting_order_fills_when_the_price_comes(api):
    api.price("50000")
    order = api.order(side="buy", order_type="limit", quantity="0.01", price="49000").body
    api.price("48900")
    assert api.stack.wait_until(lambda: api.call("GET", f"/orders/{order['id']}", "alice").body["status"] == "filled")
    filled = api.call("GET", f"/orders/{order['id']}", "alice").body
    assert (filled["average_fill_price"], filled["fee"]) == ("49000", "0.00001")  # maker fee in base


def test_pagination_filters_and_stats(api):
    api.price("50000")
    ids = [api.order(side="buy", order_type="limit", quantity="0.01", price=price).body["id"] for price in ("48000", "48100", "48200")]
    api.order(side="buy", order_type="market", quantity="0.001")
    page = api.call("GET", "/orders?limit=2&offset=0", "alice").body
    assert (page["total"], page["limit"], len(page["items"])) == (3, 2, 2)
    rest = api.call("GET", "/orders?limit=2&offset=2", "alice").body
    assert {item["id"] for item in page["items"] + rest["items"]} == set(ids)
    assert api.call("GET", "/orders?status=all", "alice").body["total"] == 4
    assert api.call("GET", "/orders?status=all&side=sell", "alice").body["total"] == 0
    assert api.call("GET", "/orders/active", "alice").body["total"] == 3
    stats = api.call("GET", "/orders/stats", "alice").body
    assert stats["total"] == 4 and stats["by_side"] == {"buy": 4, "sell": 0}
    assert (stats["by_status"]["open"], stats["by_status"]["filled"]) == (3, 1)
    bad = api.call("GET", "/orders?limit=501", "alice")
    assert (bad.status, bad.body["code"]) == (422, "VALIDATION_ERROR")
    assert api.call("GET", "/trades?side=sell", "alice").body["total"] == 0
    assert api.call("GET", "/trades?from=2000-01-01&to=2000-01-02", "alice").body["total"] == 0
    assert api.call("GET", "/trades?from=2000-01-01", "alice").body["total"] == 1


def test_users_see_only_their_own(api):
    api.price("50000")
    order = api.order(side="buy", order_type="market", quantity="0.001").body
    for path in (f"/orders/{order['id']}",):
        missing = api.call("GET", path, "bob")
        assert (missing.status, missing.body["code"]) == (404, "ORDER_NOT_FOUND")
    assert api.call("DELETE", f"/orders/{order['id']}", "bob").status == 404
    assert api.call("GET", "/orders?status=all", "bob").body["total"] == 0
    assert api.call("GET", "/trades", "bob").body["total"] == 0
    assert api.call("GET", "/positions", "bob").body["total"] == 0
    assert api.call("GET", "/positions/BTC-USDT", "bob").status == 404
    assert api.call("GET", "/portfolio", "bob").body["accounts"] == []
    assert api.call("GET", "/dashboard/activity", "bob").body["total"] == 0
    foreign = api.order("bob", side="buy", order_type="market", quantity="0.001")
    assert (foreign.status, foreign.body["code"]) == (404, "ACCOUNT_NOT_FOUND")
    viewer = api.order("vera", side="buy", order_type="market", quantity="0.001")
    assert (viewer.status, viewer.body["code"]) == (403, "INSUFFICIENT_PERMISSION")
    assert api.call("GET", f"/orders/{order['id']}", "root").status == 200
    assert api.call("GET", "/orders?status=all", "root").body["total"] == 1


def test_closing_a_position_sells_it_at_market(api):
    api.price("50000")
    api.order(side="buy", order_type="market", quantity="0.02")
    closed = api.call("POST", "/positions/BTC-USDT/close?account_id=paper", "alice")
    assert closed.status == 201, closed.body
    # 0.01998 held; the step is 0.00001, so all of it is sold.
    assert (closed.body["side"], closed.body["quantity"], closed.body["status"]) == ("sell", "0.01998", "filled")
    assert api.call("GET", "/positions", "alice").body["total"] == 0
    again = api.call("POST", "/positions/BTC-USDT/close?account_id=paper", "alice")
    assert (again.status, again.body["code"]) == (404, "POSITION_NOT_FOUND")


def test_manual_order_ids_continue_after_a_restart_of_the_api(api):
    api.price("50000")
    first = api.order(side="buy", order_type="market", quantity="0.001").body["client_order_id"]
    api.server.close()
    api.server = api.serve()  # a new context: its sequence must come from the journal
    second = api.order(side="buy", order_type="market", quantity="0.001").body["client_order_id"]
    assert first.endswith("-000001") and second == first[:-1] + "2"
