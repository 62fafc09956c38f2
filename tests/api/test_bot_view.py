"""The read model of bots (`api.bot_view`): `GET /bots/{id}` answers from memory, and what
it answers stays fresh: status changes and fills arrive as events, the API's own writes
show at once, and the ownership check still holds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import event

from api import bot_support, bot_view
from actors.messages import BotsCommitted
from actors.bot import PauseBot
from storage.bot_queries import bot_fills
from storage.config_sync import config_bot_id
from tests.api.bots_api import CONFIG_BOT, BotsApi
from tests.waiting import eventually


@pytest.fixture
def api(engine, scheduler, bus) -> Iterator[BotsApi]:
    api = BotsApi(engine, scheduler, bus)
    yield api
    api.close()


class ApiReads:
    """Counts the SELECTs the API runs (its executor threads are named `asyncio_*`)."""

    def __init__(self, engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if threading.current_thread().name.startswith("asyncio") and statement.lstrip().upper().startswith("SELECT"):
            self.count += 1

    def settle(self, quiet_s: float = 0.3) -> None:
        """Wait until the background reloads (after commits) are over."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            before = self.count
            time.sleep(quiet_s)
            if self.count == before:
                return
        raise AssertionError("the API kept reading the database")


def detail(api: BotsApi, bot_id: str, user: str = "alice") -> dict:
    reply = api.call("GET", f"/bots/{bot_id}", user)
    assert reply.status == 200, reply.body
    return reply.body


def no_reads(api: BotsApi, reads: ApiReads, bot_id: str, times: int = 10) -> dict:
    """`times` GETs of the bot, none of which touch the database; the last answer."""
    reads.settle()
    reads.count = 0
    for _ in range(times):
        body = detail(api, bot_id)
    assert reads.count == 0, f"GET /bots/{{id}} read the database {reads.count} times"
    return body


def fills_of(api: BotsApi, bot_id: str) -> tuple[int, str | None]:
    fills, total = bot_fills(api.engine, bot_id)
    return total, (fills[0].ts.isoformat().replace("+00:00", "Z") if fills else None)


def test_status_changes_and_fills_show_without_a_database_read(api):
    reads = ApiReads(api.engine)
    bot_id = api.create(auto_start=True).body["id"]
    api.price("1.10")  # the entry buy fills; the grid lays out
    eventually(lambda: detail(api, bot_id)["total_trades"] == fills_of(api, bot_id)[0] > 0, what="the entry fill")
    body = no_reads(api, reads, bot_id)
    assert body["status"] == "running" and body["current_price"] == "1.1000"
    trades = body["total_trades"]

    api.price("1.07")  # through the 1.08 buy
    eventually(lambda: detail(api, bot_id)["total_trades"] > trades, what="the 1.08 buy in the figures")
    body = no_reads(api, reads, bot_id)
    total, last = fills_of(api, bot_id)
    assert body["total_trades"] == total
    assert body["last_executed_at"] is not None and body["last_executed_at"][:19] == last[:19]
    performance = api.call("GET", f"/bots/{bot_id}/performance", "alice").body  # asks the actor
    for name in ("current_price", "grid_profit", "floating_pnl", "total_profit", "profit_percent", "total_trades", "investment_amount"):
        assert body[name] == performance[name], name

    # A status change made past the API (the bot told directly) arrives as an event.
    api.stack.directory.tell(f"bot:{bot_id}", PauseBot(bot_id=bot_id))
    eventually(lambda: detail(api, bot_id)["status"] == "paused", what="the pause")
    assert no_reads(api, reads, bot_id)["status"] == "paused"


def test_a_change_through_the_api_shows_at_once(api):
    bot_id = api.create().body["id"]
    before = detail(api, bot_id)  # now in the read model
    renamed = api.call("PATCH", f"/bots/{bot_id}", "alice", {"name": "renamed", "config": {"upper_price": "1.30"}})
    assert renamed.status == 200, renamed.body
    after = detail(api, bot_id)
    assert after["name"] == "renamed" and after["config"]["upper_price"] == "1.30"
    assert after == renamed.body and before["name"] == "xrp grid"

    started = api.call("POST", f"/bots/{bot_id}/start", "alice")
    assert started.body["status"] == "running", started.body
    body = detail(api, bot_id)
    assert body["status"] == "running" and body["started_at"] is not None
    stopped = api.call("POST", f"/bots/{bot_id}/stop", "alice")
    assert stopped.body["status"] == "stopped", stopped.body
    body = detail(api, bot_id)
    assert body["status"] == "stopped" and body["stopped_at"] is not None

    assert api.call("DELETE", f"/bots/{bot_id}", "alice").status == 204
    assert api.call("GET", f"/bots/{bot_id}", "alice").body["code"] == "BOT_NOT_FOUND"


def test_a_commit_notice_during_the_apis_own_reload_does_not_keep_a_deleted_bot(api, monkeypatch):
    """The journal's notice of the delete reaches the view while the DELETE's own reload
    reads: that read is then not trusted, and the old row must not be served either."""
    bot_id = api.create().body["id"]
    detail(api, bot_id)  # cached
    read = bot_view.bots_with_last_fills

    def read_with_a_notice_arriving(engine, bot_ids):
        rows = read(engine, bot_ids)
        api.bot_feed.push([BotsCommitted(bot_ids=frozenset({bot_id}))])
        time.sleep(0.2)  # the loop takes the notice before this read returns
        monkeypatch.setattr(bot_view, "bots_with_last_fills", read)  # once
        return rows

    monkeypatch.setattr(bot_view, "bots_with_last_fills", read_with_a_notice_arriving)
    assert api.call("DELETE", f"/bots/{bot_id}", "alice").status == 204
    assert api.call("GET", f"/bots/{bot_id}", "alice").body["code"] == "BOT_NOT_FOUND"


def test_another_users_bot_is_still_not_found(api):
    bot_id = api.create().body["id"]
    assert detail(api, bot_id)["owner_id"] == api.users["alice"]  # cached now
    for user in ("bob", "vera"):
        reply = api.call("GET", f"/bots/{bot_id}", user)
        assert (reply.status, reply.body["code"]) == (404, "BOT_NOT_FOUND"), (user, reply.body)
    assert detail(api, bot_id, "root")["id"] == bot_id
    config_bot = config_bot_id(CONFIG_BOT)
    assert detail(api, config_bot, "root")["source"] == "config"
    reply = api.call("GET", f"/bots/{config_bot}", "alice")
    assert (reply.status, reply.body["code"]) == (404, "BOT_NOT_FOUND")


def test_listing_bots_replays_a_stopped_bot_once(api, monkeypatch):
    replays = []
    replay = bot_support.replay_grid_bot

    def counting(*args, **kwargs):
        replays.append(kwargs.get("bot_id"))
        return replay(*args, **kwargs)

    monkeypatch.setattr(bot_support, "replay_grid_bot", counting)
    bot_id = api.create().body["id"]
    replays.clear()  # the create's answer replayed it (writes read afresh)
    first = api.call("GET", "/bots", "alice").body
    assert [bot["id"] for bot in first["items"]] == [bot_id] and replays == [bot_id]
    for _ in range(3):
        assert api.call("GET", "/bots", "alice").body == first
        assert detail(api, bot_id) == first["items"][0]
    assert replays == [bot_id]
