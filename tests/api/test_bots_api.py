"""The bots API over real actors, a real database and a real HTTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from storage.bot_queries import bot_orders
from storage.config_sync import config_bot_id
from storage.queries import OPEN_STATUSES
from tests.api.bots_api import BOB_ACCOUNT, CONFIG_BOT, GRID, SYMBOL, BotsApi
from tests.waiting import eventually


@pytest.fixture
def api(engine, scheduler, bus) -> Iterator[BotsApi]:
    api = BotsApi(engine, scheduler, bus)
    yield api
    api.close()


def open_orders(api: BotsApi, bot_id: str) -> list[dict]:
    items = []
    for status in ("pending", "open", "partially_filled"):
        reply = api.call("GET", f"/bots/{bot_id}/orders?status={status}&limit=500", "alice")
        assert reply.status == 200, reply.body
        items += reply.body["items"]
    return items


def test_the_strategy_catalog_has_the_grid_and_its_config_schema(api):
    reply = api.call("GET", "/strategies", "vera")
    assert reply.status == 200
    [grid] = reply.body
    assert grid["type"] == "grid" and grid["name"] and grid["description"]
    properties = grid["config_schema"]["properties"]
    assert {"lower_price", "upper_price", "grid_count", "price_change_percent", "spacing", "order_amount",
            "total_investment", "stop_at_max", "stop_loss_price", "take_profit_price", "trigger_price",
            "sell_base_on_stop"} == set(properties)
    assert grid["config_schema"]["additionalProperties"] is False


def test_a_paper_grid_bot_trades_books_its_profit_and_stops_clean(api):
    created = api.create()
    assert created.status == 201, created.body
    bot = created.body
    bot_id = bot["id"]
    assert bot["status"] == "stopped" and bot["source"] == "api" and not bot["read_only"]
    assert bot["symbol"] == SYMBOL and bot["exchange"] == "paper" and bot["investment_amount"] == "100.00000000"
    assert bot["config"]["lower_price"] == "1.00" and bot["config"]["grid_count"] == 10

    started = api.call("POST", f"/bots/{bot_id}/start", "alice")
    assert started.status == 200, started.body
    assert started.body == {"success": True, "bot_id": bot_id, "action": "start", "status": "running",
                            "message": "bot started"}
    again = api.call("POST", f"/bots/{bot_id}/start", "alice")
    assert (again.status, again.body["code"]) == (409, "ALREADY_RUNNING")

    # The grid lays out at 1.10: buys below, sells above (after the entry market buy).
    api.price("1.10")
    eventually(lambda: len(open_orders(api, bot_id)) == 10, what="ten resting grid orders")
    levels = api.call("GET", f"/bots/{bot_id}/grid-levels", "alice").body
    assert [level["price"] for level in levels] == [f"{Decimal('1.00') + Decimal('0.02') * i:.4f}" for i in range(11)]
    assert sum(level["status"] == "pending" for level in levels) == 10
    assert {level["side"] for level in levels if level["status"] == "pending" and Decimal(level["price"]) < Decimal("1.10")} == {"buy"}
    pending = api.call("GET", f"/bots/{bot_id}/grid-levels?status=pending", "alice").body
    assert len(pending) == 10

    # Down through the 1.08 buy, then up through its 1.10 sell: one completed cycle.
    api.price("1.07")
    eventually(lambda: any(t["side"] == "buy" and Decimal(t["price"]) == Decimal("1.08")
                           for t in api.call("GET", f"/bots/{bot_id}/trades", "alice").body["items"]),
               what="the 1.08 buy")
    eventually(lambda: len(open_orders(api, bot_id)) == 10, what="the counter sell")
    api.price("1.11")
    trades = eventually(lambda: (lambda body: body if any(t["profit"] for t in body["items"]) else None)(
        api.call("GET", f"/bots/{bot_id}/trades", "alice").body), what="a closing sell with profit")
    closing = [t for t in trades["items"] if t["profit"] is not None]
    assert [t["side"] for t in closing] == ["sell"] and Decimal(closing[0]["price"]) == Decimal("1.10")
    assert Decimal(closing[0]["profit"]) > 0
    assert trades["total"] == len(trades["items"])

    performance = api.call("GET", f"/bots/{bot_id}/performance", "alice").body
    assert performance["live"] is True
    assert performance["total_trades"] == trades["total"]
    assert performance["buy_trades"] == sum(t["side"] == "buy" for t in trades["items"])
    assert performance["sell_trades"] == sum(t["side"] == "sell" for t in trades["items"])
    assert performance["completed_cycles"] == 1
    assert Decimal(performance["grid_profit"]) == Decimal(closing[0]["profit"])
    assert Decimal(performance["total_profit"]) == Decimal(performance["grid_profit"]) + Decimal(performance["floating_pnl"])
    detail = api.call("GET", f"/bots/{bot_id}", "alice").body
    assert detail["status"] == "running" and detail["total_trades"] == trades["total"]
    assert detail["grid_profit"] == performance["grid_profit"] and detail["current_price"] in ("1.1000", "1.1100")
    assert detail["last_executed_at"] is not None

    paused = api.call("POST", f"/bots/{bot_id}/pause", "alice")
    assert paused.body["status"] == "paused", paused.body
    assert api.call("POST", f"/bots/{bot_id}/pause", "alice").body["code"] == "NOT_RUNNING"
    assert api.call("POST", f"/bots/{bot_id}/resume", "alice").body["status"] == "running"

    stopped = api.call("POST", f"/bots/{bot_id}/stop", "alice", {"cancel_orders": True, "sell_base": False})
    assert stopped.status == 200 and stopped.body["status"] == "stopped", stopped.body
    assert open_orders(api, bot_id) == []
    assert api.call("POST", f"/bots/{bot_id}/stop", "alice").body["code"] == "NOT_RUNNING"
    after = api.call("GET", f"/bots/{bot_id}/performance", "alice").body
    assert after["completed_cycles"] == 1 and after["grid_profit"] == performance["grid_profit"]

    events = api.call("GET", f"/bots/{bot_id}/events?limit=500", "alice").body
    types = {event["type"] for event in events["items"]}
    assert {"BotCreated", "BotStatusChanged", "GridRunStarted", "OrderSubmitted", "OrderFilled", "OrderCanceled"} <= types
    assert events["total"] == len(events["items"])
    stats = api.call("GET", "/bots/stats", "alice").body
    assert stats["total_bots"] == 1 and stats["running_bots"] == 0
    assert stats["orders_submitted"] >= 12 and stats["orders_filled"] >= 3

    listed = api.call("GET", "/bots", "alice").body
    assert listed["total"] == 1 and listed["summary"]["total_bots"] == 1 and listed["summary"]["active_bots"] == 0
    assert listed["summary"]["total_profit"] == listed["items"][0]["total_profit"]

    assert api.call("DELETE", f"/bots/{bot_id}", "alice").status == 204
    assert api.call("GET", f"/bots/{bot_id}", "alice").body["code"] == "BOT_NOT_FOUND"


def test_grid_configs_are_checked_against_the_market_and_the_balance(api):
    def refused(reply, status, code):
        assert (reply.status, reply.body["code"]) == (status, code), reply.body
        return reply.body

    body = refused(api.create(config={**GRID, "grid_count": "ten"}), 422, "VALIDATION_ERROR")
    assert {"loc": ["body", "config", "grid_count"], "msg": body["details"]["errors"][0]["msg"]} in body["details"]["errors"]
    body = refused(api.create(config={**GRID, "both": 1}), 422, "VALIDATION_ERROR")
    assert body["details"]["errors"][0]["loc"][:2] == ["body", "config"]
    body = refused(api.create(config={k: v for k, v in GRID.items() if k != "order_amount"}), 422, "VALIDATION_ERROR")
    assert body["details"]["errors"][0]["loc"] == ["body", "config", "order_amount"]
    body = refused(api.create(name=""), 422, "VALIDATION_ERROR")
    assert body["details"]["errors"][0]["loc"] == ["body", "name"]
    refused(api.create(config={**GRID, "lower_price": "1.20", "upper_price": "1.20"}), 422, "INVALID_PRICE_RANGE")
    # 20 intervals in 10 ticks of 0.0001: levels too dense for the tick size.
    refused(api.create(config={**GRID, "lower_price": "1.0000", "upper_price": "1.0010", "grid_count": 20}),
            422, "INVALID_PRICE_RANGE")
    refused(api.create(config={**GRID, "order_amount": "1"}), 422, "BELOW_MIN_NOTIONAL")
    body = refused(api.create(config={**GRID, "order_amount": "500"}), 422, "INSUFFICIENT_BALANCE")
    assert body["details"] == {"asset": "USDT", "required": "5000", "available": "1000"}
    refused(api.create(symbol="ETH/BTC"), 422, "VALIDATION_ERROR")
    refused(api.create(account_id="no-such-account"), 404, "ACCOUNT_NOT_FOUND")
    bad_json = api.server.request("POST", "/api/v1/bots", b"{nope", {
        "Authorization": f"Bearer {api.tokens['alice']}", "Content-Type": "application/json"})
    assert (bad_json.status, bad_json.body["code"]) == (400, "INVALID_JSON")
    assert api.call("GET", "/bots", "alice").body["total"] == 0
    assert api.create(symbol="XRP-USDT").status == 201
    refused(api.create(), 409, "CONFLICT")  # the same name again


def test_users_see_and_touch_only_their_own_bots(api):
    bot_id = api.create().body["id"]
    assert api.call("GET", "/bots", "bob").body["total"] == 0
    for method, path in (
        ("GET", ""), ("PATCH", ""), ("PUT", ""), ("DELETE", ""), ("POST", "/start"), ("POST", "/stop"),
        ("POST", "/pause"), ("POST", "/resume"), ("GET", "/grid-levels"), ("GET", "/trades"),
        ("GET", "/orders"), ("GET", "/performance"), ("GET", "/events"),
    ):
        body = {"name": "mine now"} if method in ("PATCH", "PUT") else None
        reply = api.call(method, f"/bots/{bot_id}{path}", "bob", body)
        assert (reply.status, reply.body["code"]) == (404, "BOT_NOT_FOUND"), (method, path, reply.body)
    assert api.create("bob").body["code"] == "ACCOUNT_NOT_FOUND"  # alice's account
    assert api.create("bob", account_id=BOB_ACCOUNT).body["code"] == "VALIDATION_ERROR"  # no exchange runs it
    assert api.call("GET", "/bots/stats", "bob").body["total_bots"] == 0

    assert api.create("vera").status == 403
    assert api.call("POST", f"/bots/{bot_id}/start", "vera").status == 403
    assert api.call("GET", "/bots", "vera").body["total"] == 0

    admin = api.call("GET", "/bots", "root").body
    assert {bot["id"] for bot in admin["items"]} == {bot_id, config_bot_id(CONFIG_BOT)}
    assert api.call("GET", f"/bots/{bot_id}", "root").body["owner_id"] == api.users["alice"]
    assert api.call("GET", f"/bots/{config_bot_id(CONFIG_BOT)}", "alice").body["code"] == "BOT_NOT_FOUND"


def test_config_bots_are_read_only_but_start_and_stop(api):
    bot_id = config_bot_id(CONFIG_BOT)
    bot = api.call("GET", f"/bots/{bot_id}", "root").body
    assert bot["source"] == "config" and bot["read_only"] and bot["owner_id"] is None
    for method, body in (("PATCH", {"name": "renamed"}), ("PUT", {"name": "renamed", "config": GRID}), ("DELETE", None)):
        reply = api.call(method, f"/bots/{bot_id}", "root", body)
        assert (reply.status, reply.body["code"]) == (409, "READ_ONLY_BOT"), reply.body
    started = api.call("POST", f"/bots/{bot_id}/start", "root")
    assert started.body["status"] == "running", started.body
    api.price("1.10")
    eventually(lambda: api.call("GET", f"/bots/{bot_id}/orders?status=open", "root").body["total"] == 10,
               what="the config bot's orders")
    stopped = api.call("POST", f"/bots/{bot_id}/stop", "root")
    assert stopped.body["status"] == "stopped", stopped.body
    assert api.call("GET", f"/bots/{bot_id}/orders?status=open", "root").body["total"] == 0


def test_changes_to_a_running_grid_wait_for_a_stop(api):
    bot_id = api.create(auto_start=True).body["id"]
    assert api.call("GET", f"/bots/{bot_id}", "alice").body["status"] == "running"
    api.price("1.10")
    eventually(lambda: len(open_orders(api, bot_id)) == 10, what="the grid")

    moved = api.call("PATCH", f"/bots/{bot_id}", "alice", {"config": {"upper_price": "1.30"}})
    assert (moved.status, moved.body["code"]) == (409, "BOT_RUNNING")
    renamed = api.call("PATCH", f"/bots/{bot_id}", "alice", {"name": "renamed", "config": {"stop_loss_price": "0.90"}})
    assert renamed.status == 200, renamed.body
    assert renamed.body["name"] == "renamed" and renamed.body["config"]["stop_loss_price"] == "0.90"
    assert renamed.body["status"] == "running"
    assert (api.call("DELETE", f"/bots/{bot_id}", "alice").body["code"]) == "BOT_RUNNING"

    assert api.call("POST", f"/bots/{bot_id}/stop", "alice").body["status"] == "stopped"
    assert open_orders(api, bot_id) == []
    moved = api.call("PATCH", f"/bots/{bot_id}", "alice", {"config": {"upper_price": "1.30", "grid_count": 15}})
    assert moved.status == 200, moved.body
    assert moved.body["config"]["upper_price"] == "1.30" and moved.body["config"]["grid_count"] == 15
    swapped = api.call("PATCH", f"/bots/{bot_id}", "alice", {"config": {"total_investment": "150"}})
    assert swapped.status == 200 and swapped.body["config"]["order_amount"] is None, swapped.body
    assert api.call("PUT", f"/bots/{bot_id}", "alice", {"config": {"lower_price": "1"}}).status == 422

    restarted = api.call("POST", f"/bots/{bot_id}/start", "alice")
    assert restarted.body["status"] == "running", restarted.body
    api.price("1.11")
    eventually(lambda: api.call("GET", f"/bots/{bot_id}/grid-levels", "alice").body[-1]["price"] == "1.3000",
               what="the new grid")
    deleted = api.call("DELETE", f"/bots/{bot_id}?force=true", "alice")
    assert deleted.status == 204
    assert api.call("GET", f"/bots/{bot_id}", "alice").status == 404
    orders, _ = bot_orders(api.engine, bot_id, statuses=OPEN_STATUSES)
    assert orders == []  # the forced stop cancelled them; the orders stay for the record
    assert bot_orders(api.engine, bot_id)[1] > 0
