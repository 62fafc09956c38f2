"""`/ws` end to end: a real server on loopback, real WebSocket clients, real actors (the
`TradingStack` plus a `RelayActor`) on a real database."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal as D

import pytest
from sqlalchemy import Engine, update

from actors.relay import RelayActor
from actors.supervisor import ChildSpec
from api.app import make_app
from api.auth.tokens import TokenIssuer
from api.context import ApiContext
from api.ws.client import WsLimits
from api.ws.outlet import RelayOutlet
from storage.models import BotRow
from storage.config_sync import ConfigAccount, sync_config_objects
from tests.actors.trading_stack import ACCOUNT, TradingStack, _bot_row
from tests.api.auth_helpers import SECRET, add_user, bearer
from tests.api.conftest import LiveServer
from tests.api.ws_helpers import ClientLoop, WsClient
from trading.events import BalanceUpdated
from trading.grid.geometry import GridParams
from trading.strategies.grid import GridStrategy
from trading.venues.paper_markets import paper_market

XRP = paper_market("XRP/USDT", maker_fee=D("0.001"), taker_fee=D("0.001"))
GRID = GridParams(lower_price=D("1.00"), upper_price=D("1.20"), grid_count=10, order_amount=D("20"))
ISSUER = TokenIssuer(SECRET)


@dataclass
class Env:
    engine: Engine
    stack: TradingStack
    feed: str
    server: LiveServer
    loop: ClientLoop
    users: dict[str, str]
    context: ApiContext

    def token(self, name: str) -> str:
        role = "admin" if name == "root" else "trader"
        return ISSUER.access_token(self.users[name], role).token

    def connect(self, name: str | None = None, path: str = "/ws") -> WsClient:
        query = f"?token={self.token(name)}" if name is not None else ""
        return self.loop.connect(self.server.port, query, path)

    def welcomed(self, name: str) -> WsClient:
        client = self.connect(name)
        welcome = client.recv()
        assert welcome["type"] == "welcome" and welcome["authenticated"] is True, welcome
        return client

    def start_alice_bot(self) -> str:
        return self.stack.add_bot("alice-grid", "XRP/USDT", lambda context: GridStrategy(context, GRID), self.feed)


def make_env(engine: Engine, scheduler, bus, limits: WsLimits = WsLimits()) -> Env:
    users = {name: add_user(engine, name, "admin" if name == "root" else "trader") for name in ("alice", "bob", "root")}
    stack = TradingStack(engine, scheduler, bus, markets={"XRP/USDT": XRP}, balances={"USDT": D("10000")},
                         bots=[("alice-grid", "XRP/USDT")])
    with engine.begin() as connection:  # alice made this bot (through the API, in the daemon)
        connection.execute(update(BotRow).where(BotRow.config_key == "alice-grid").values(owner_id=users["alice"]))
    feed = stack.add_feed("XRP/USDT")
    outlet = RelayOutlet()
    stack.start(ChildSpec("relay", RelayActor, {
        "bus": bus, "directory": stack.directory, "outlet": outlet.push, "feed_names": (feed,), "account_ids": (ACCOUNT,),
    }))
    context = ApiContext(version="9.9.9", engine=engine, tokens=ISSUER, ws_outlet=outlet, ws_limits=limits)
    return Env(engine, stack, feed, LiveServer(make_app(context)), ClientLoop(), users, context)


@pytest.fixture
def env(engine, scheduler, bus) -> Iterator[Env]:
    environment = make_env(engine, scheduler, bus)
    yield environment
    environment.loop.close()
    environment.server.close()


def data_types(messages: list[dict]) -> set[str]:
    return {m["type"] for m in messages} - {"welcome", "pong", "subscribed", "unsubscribed", "error", "authenticated"}


# -- connecting -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ws", "/api/v1/ws"])
def test_a_token_in_the_query_gets_a_welcome_and_ping_pong(env, path):
    client = env.connect("alice", path)
    welcome = client.recv()
    assert welcome["type"] == "welcome"
    assert welcome["version"] == "9.9.9"
    assert welcome["user_id"] == env.users["alice"] and welcome["role"] == "trader"
    assert isinstance(welcome["timestamp"], int) and welcome["timestamp"] > 1_600_000_000_000
    client.send({"type": "ping"})
    pong = client.recv()
    assert pong["type"] == "pong" and isinstance(pong["timestamp"], int)


def test_a_first_auth_message_authenticates(env):
    client = env.connect()
    welcome = client.recv()
    assert welcome["type"] == "welcome" and welcome["authenticated"] is False
    client.send({"type": "subscribe", "channels": ["orders"]})
    refused = client.recv()
    assert refused["type"] == "error" and refused["code"] == "MISSING_TOKEN"
    client.send({"type": "auth", "token": env.token("bob")})
    authenticated = client.recv()
    assert authenticated["type"] == "authenticated" and authenticated["user_id"] == env.users["bob"]
    assert client.subscribe("orders") == [{"type": "subscribed", "timestamp": client.received[-1]["timestamp"], "channels": ["orders"]}]


@pytest.mark.parametrize("how", ["query", "message"])
@pytest.mark.parametrize("kind,code", [
    ("garbage", "INVALID_TOKEN"),
    ("refresh", "INVALID_TOKEN"),
    ("expired", "TOKEN_EXPIRED"),
    ("other-secret", "INVALID_TOKEN"),
])
def test_a_bad_token_is_refused_with_an_error_and_4401(env, how, kind, code):
    user = env.users["alice"]
    token = {
        "garbage": "not.a.jwt",
        "refresh": ISSUER.refresh_token(user).token,
        "expired": TokenIssuer(SECRET, now=lambda: time.time() - 7200).access_token(user, "trader").token,
        "other-secret": TokenIssuer("another-secret-of-at-least-32-bytes-xxxxx").access_token(user, "admin").token,
    }[kind]
    if how == "query":
        client = env.loop.connect(env.server.port, f"?token={token}")
    else:
        client = env.connect()
        assert client.recv()["type"] == "welcome"
        client.send({"type": "auth", "token": token})
    error = client.recv()
    assert error["type"] == "error" and error["code"] == code, error
    assert client.recv_close() == (4401, code)


def test_no_auth_within_the_deadline_closes_4408(engine, scheduler, bus):
    environment = make_env(engine, scheduler, bus, WsLimits(auth_timeout_s=0.2))
    try:
        client = environment.connect()
        assert client.recv()["type"] == "welcome"
        assert client.recv_close() == (4408, "MISSING_TOKEN")
        assert client.received[-1]["code"] == "MISSING_TOKEN"
    finally:
        environment.loop.close()
        environment.server.close()


def test_malformed_and_unknown_messages_get_errors(env):
    client = env.welcomed("alice")
    client.send("{not json")
    assert client.recv()["code"] == "INVALID_JSON"
    client.send({"type": "dance"})
    assert client.recv()["code"] == "INVALID_MESSAGE"
    client.send({"type": "subscribe"})
    assert client.recv()["code"] == "VALIDATION_ERROR"


# -- channels -------------------------------------------------------------------------------


def test_invalid_channels_are_refused_one_by_one(env):
    client = env.welcomed("alice")
    bad = ("nonsense", "kline:XRP-USDT:2m", "kline:XRP-USDT", "kline:XRP:1m", "market:", "bot:")
    answers = client.subscribe(*bad[:3], "positions", "kline:xrp/usdt:1m", *bad[3:], "system")
    errors = {a["channel"]: a["code"] for a in answers if a["type"] == "error"}
    assert errors == {name: "INVALID_CHANNEL" for name in bad}
    assert answers[-1]["type"] == "subscribed" and answers[-1]["channels"] == ["positions", "kline:XRP-USDT:1m", "system"]


def test_subscribe_unsubscribe_and_the_single_channel_form(env):
    client = env.welcomed("alice")
    client.send({"type": "subscribe", "channel": "market:xrp/usdt"})
    assert client.recv_until(lambda m: m["type"] == "subscribed")["channels"] == ["market:XRP-USDT"]
    client.send({"type": "unsubscribe", "channels": ["market:XRP-USDT", "orders"]})
    assert client.recv_until(lambda m: m["type"] == "unsubscribed")["channels"] == ["market:XRP-USDT"]


def test_market_tickers_arrive_with_decimal_strings(env):
    client = env.welcomed("bob")
    client.subscribe("market:XRP-USDT", "all_markets")
    env.stack.publish(env.feed, "1.1234")
    ticker = client.recv_until(lambda m: m["type"] == "ticker" and m["channel"] == "market:XRP-USDT" and m["data"]["last"] == "1.1234")
    assert ticker["data"]["symbol"] == "XRP/USDT" and ticker["data"]["low"] == "1.1234"
    assert isinstance(ticker["timestamp"], int)
    compact = client.recv_until(lambda m: m["channel"] == "all_markets")
    assert compact["type"] == "ticker" and compact["data"]["s"] == "XRP/USDT"
    # A late subscriber gets the latest price at once.
    late = env.welcomed("alice")
    late.subscribe("market:XRP-USDT")
    assert late.recv_until(lambda m: m["type"] == "ticker")["data"]["last"] == "1.1234"


def test_a_running_grid_bot_reaches_its_owner_and_admins_only(env):
    alice = env.welcomed("alice")
    bob = env.welcomed("bob")
    root = env.welcomed("root")
    bot_id = env.stack.bot_rows["alice-grid"].id
    assert alice.subscribe(f"bot:{bot_id}", "orders", "bots")[-1]["channels"] == [f"bot:{bot_id}", "orders", "bots"]
    refused = bob.subscribe(f"bot:{bot_id}", "orders", "bots", "account:paper")
    assert [(a["type"], a.get("code"), a.get("channel")) for a in refused] == [
        ("error", "INSUFFICIENT_PERMISSION", f"bot:{bot_id}"),
        ("error", "INSUFFICIENT_PERMISSION", "account:paper"),  # a config account: admins only
        ("subscribed", None, None),
    ]
    assert refused[-1]["channels"] == ["orders", "bots"]
    assert bob.subscribe("bot:no-such-bot")[0]["code"] == "BOT_NOT_FOUND"
    root.subscribe("orders", f"bot:{bot_id}", "account:paper")

    env.start_alice_bot()
    # Start at 1.101 (an entry buy and a grid of orders), fall through the 1.08 buy.
    env.stack.publish(env.feed, "1.101")
    channel = f"bot:{bot_id}"
    status = alice.recv_until(lambda m: m["type"] == "bot_update" and m["channel"] == channel and m["data"]["status"] == "running")
    assert status["data"]["bot_id"] == bot_id
    accepted = alice.recv_until(lambda m: m["type"] == "order_update" and m["channel"] == channel and m["data"]["status"] == "open")
    assert accepted["data"]["exchange_order_id"] and accepted["data"]["client_order_id"].startswith("td-")
    env.stack.publish(env.feed, "1.079")
    fill = alice.recv_until(lambda m: m["type"] == "fill" and m["channel"] == channel)
    for field in ("price", "quantity", "fee"):
        assert isinstance(fill["data"][field], str) and D(fill["data"][field]) > 0
    assert fill["data"]["side"] in ("buy", "sell") and fill["data"]["bot_id"] == bot_id
    profit = alice.recv_until(lambda m: m["type"] == "bot_update" and m["channel"] == channel and "total_profit" in m["data"])
    assert isinstance(profit["data"]["total_profit"], str) and profit["data"]["currency"] == "USDT"
    # The shared channels carry it to alice too.
    alice.recv_until(lambda m: m["type"] == "fill" and m["channel"] == "orders")
    alice.recv_until(lambda m: m["type"] == "bot_update" and m["channel"] == "bots")
    # The admin sees it all, the config account's balances included.
    root.recv_until(lambda m: m["type"] == "fill" and m["channel"] == "orders")
    root.recv_until(lambda m: m["type"] == "account_update" and m["channel"] == "account:paper")

    # Bob: everything the server wrote him before the pong, and nothing of alice's.
    bob.send({"type": "ping"})
    bob.recv_until(lambda m: m["type"] == "pong")
    assert data_types(bob.received) == set()
    assert all(m.get("channel") not in ("orders", "bots") for m in bob.received)


# -- limits ---------------------------------------------------------------------------------


def test_the_sixth_connection_of_a_user_is_refused(env):
    clients = [env.welcomed("alice") for _ in range(5)]
    sixth = env.connect("alice")
    error = sixth.recv()
    assert error["type"] == "error" and error["code"] == "TOO_MANY_CONNECTIONS"
    assert sixth.recv_close() == (4429, "TOO_MANY_CONNECTIONS")
    env.welcomed("bob")  # other users are not affected
    clients[0].close()
    clients[1].send({"type": "ping"})
    clients[1].recv_until(lambda m: m["type"] == "pong")  # the server saw the close by now
    env.welcomed("alice")  # a freed place is taken again


def test_a_flooding_client_is_warned_then_closed_1008(env):
    client = env.welcomed("bob")
    for _ in range(400):  # four times the rate, at once
        client.send({"type": "ping"})
    code, reason = client.recv_close()
    assert (code, reason) == (1008, "RATE_LIMITED")
    pongs = sum(1 for m in client.received if m["type"] == "pong")
    assert 100 <= pongs < 400
    errors = [m["code"] for m in client.received if m["type"] == "error"]
    assert set(errors) == {"RATE_LIMITED"} and len(errors) >= 2  # warned, then closed


def test_a_client_that_never_reads_is_closed_1013_while_others_receive(engine, scheduler, bus):
    environment = make_env(engine, scheduler, bus, WsLimits(queue_size=50, write_timeout_s=2.0))
    try:
        env = environment
        reader = env.welcomed("root")
        stalled = env.welcomed("root")
        reader.subscribe("account:paper")
        stalled.subscribe("account:paper")
        # The stalled client's socket takes little before it pushes back.
        stalled.connection.stream.socket.setsockopt(__import__("socket").SOL_SOCKET, __import__("socket").SO_RCVBUF, 4096)
        asset = "X" * 200  # big messages fill the socket buffers sooner
        sent = 0
        while env.context.ws_hub.stats()["total_connections"] == 2:
            for _ in range(200):
                env.stack.bus.publish(f"account:{ACCOUNT}", BalanceUpdated(account_id=ACCOUNT, asset=asset, free=D(sent), locked=D(0)))
                sent += 1
            last = reader.recv_until(lambda m: m["type"] == "account_update" and m["data"]["free"] == str(sent - 1))
            assert sent < 200_000, "the stalled client was never closed"
        # The reader got every one so far, and still gets what comes next.
        env.stack.bus.publish(f"account:{ACCOUNT}", BalanceUpdated(account_id=ACCOUNT, asset="USDT", free=D("1"), locked=D(0)))
        assert reader.recv_until(lambda m: m["type"] == "account_update" and m["data"]["asset"] == "USDT")["data"]["free"] == "1"
        assert last["data"]["free"] == str(sent - 1)
        # The stalled one, reading at last, finds a 1013 after what was already on its way.
        assert stalled.recv_close(timeout=30) == (1013, stalled.close_reason)
        assert stalled.close_reason.startswith("too slow")
        metrics = env.server.request("GET", "/api/v1/metrics/json").body["families"]
        closed = next(f for f in metrics if f["name"] == "traderd_websocket_slow_clients_closed_total")
        assert closed["samples"][0]["value"] == 1
    finally:
        environment.loop.close()
        environment.server.close()


def test_stats_count_connections_and_subscribers_for_admins(env):
    alice = env.welcomed("alice")
    alice.subscribe("orders", "market:XRP-USDT")
    bob = env.welcomed("bob")
    bob.subscribe("orders")
    reply = env.server.request("GET", "/api/v1/ws/stats", headers=bearer(env.token("root")))
    assert reply.status == 200
    assert reply.body == {"total_connections": 2, "channels": {"market:XRP-USDT": 1, "orders": 2}}
    assert env.server.request("GET", "/api/v1/ws/stats", headers=bearer(env.token("bob"))).status == 403
    assert env.server.request("GET", "/api/v1/ws/stats").status == 401


def test_websocket_metrics_count_by_channel_kind(env):
    client = env.welcomed("bob")
    client.subscribe("market:XRP-USDT")
    env.stack.publish(env.feed, "1.15")
    client.recv_until(lambda m: m["type"] == "ticker")
    text = env.server.request("GET", "/api/v1/metrics/json").body["families"]
    by_name = {family["name"]: family for family in text}
    assert by_name["traderd_websocket_connections"]["samples"][0]["value"] == 1
    sent = {s["labels"]["kind"]: s["value"] for s in by_name["traderd_websocket_messages_sent_total"]["samples"]}
    assert sent["market"] >= 1 and sent["control"] >= 2
    assert json.dumps(by_name).count("XRP") == 0  # kinds, never raw channel names


def test_a_bot_made_after_the_owners_were_loaded_reaches_its_owner(env):
    bob = env.welcomed("bob")
    alice = env.welcomed("alice")
    alice_bot = env.stack.bot_rows["alice-grid"].id
    alice.subscribe(f"bot:{alice_bot}")  # the hub loads the owners now
    bob.subscribe("bots")
    # Bob's new bot: its row (and owner) written after that load, then it starts.
    env.stack.bot_rows["bob-grid"] = _bot_row("bob-grid", "XRP/USDT")
    sync_config_objects(env.engine, [ConfigAccount(id=ACCOUNT, exchange="paper")], list(env.stack.bot_rows.values()))
    with env.engine.begin() as connection:
        connection.execute(update(BotRow).where(BotRow.config_key == "bob-grid").values(owner_id=env.users["bob"]))
    bob_bot = env.stack.add_bot("bob-grid", "XRP/USDT", lambda context: GridStrategy(context, GRID), env.feed)
    update_ = bob.recv_until(lambda m: m["type"] == "bot_update" and m["data"]["bot_id"] == bob_bot)
    assert update_["channel"] == "bots"
