"""`kline:{symbol}:{interval}` and `positions` end to end: a real server on loopback, real
WebSocket clients, the real feed, relay, bot, exchange and journal actors."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D

import pytest

from actors.feed import FeedSubscriptions, MarketFeedActor, SubscribeMarketData, price_list_source
from actors.supervisor import ChildSpec
from tests.actors.trading_stack import ACCOUNT
from tests.api.auth_helpers import bearer
from tests.api.test_websocket import Env, data_types, make_env
from trading.clock import ManualClock

HOUR_MS = 3_600_000
T0_MS = 1_767_225_600_000 + 5_000  # 2026-01-01 00:00:05 UTC: a day, hour and minute begin just before


@pytest.fixture
def env(engine, scheduler, bus) -> Iterator[Env]:
    environment = make_env(engine, scheduler, bus)
    yield environment
    environment.loop.close()
    environment.server.close()


def btc_feed(env: Env, clock: ManualClock) -> str:
    """A BTC/USDT feed on a clock of the test's, relayed like the daemon's feeds."""
    name = "feed:BTC/USDT"
    env.stack.start(ChildSpec(name, MarketFeedActor, {
        "scheduler": env.stack.scheduler, "source": price_list_source([]), "symbol": "BTC/USDT",
        "subscriptions": FeedSubscriptions(), "metrics": env.stack.metrics, "clock": clock,
    }))
    env.stack.directory.tell(name, SubscribeMarketData(ref=env.stack.directory.get("relay")))
    return name


def kline(message: dict, channel: str, close: str, closed: bool = False) -> bool:
    return (message["type"] == "kline" and message["channel"] == channel
            and message["data"]["c"] == close and message["data"]["closed"] is closed)


def test_klines_are_the_candles_of_the_published_prices(env):
    clock = ManualClock(T0_MS * 1_000_000)
    feed = btc_feed(env, clock)
    client = env.welcomed("bob")
    minute, hour = "kline:BTC-USDT:1m", "kline:BTC-USDT:1h"
    assert client.subscribe("kline:btc-usdt:1m", hour)[-1]["channels"] == [minute, hour]

    env.stack.publish(feed, "100")
    first = client.recv_until(lambda m: kline(m, minute, "100"))
    assert first["data"] == {"t": T0_MS - 5_000, "o": "100", "h": "100", "l": "100", "c": "100", "v": "0", "closed": False}
    assert first["timestamp"] == T0_MS
    for price in ("105", "95.5", "102"):  # may reach the relay conflated: low/high still count
        env.stack.publish(feed, price)
    bar = client.recv_until(lambda m: kline(m, minute, "102"))["data"]
    assert (bar["o"], bar["h"], bar["l"], bar["c"]) == ("100", "105", "95.5", "102")

    # The next minute: the finished bar once, closed; a new one; the hour goes on.
    clock.set((T0_MS + 60_000) * 1_000_000)
    env.stack.publish(feed, "103")
    closed = client.recv_until(lambda m: m["type"] == "kline" and m["channel"] == minute and m["data"]["closed"])
    assert closed["data"] == {**bar, "closed": True}
    new = client.recv_until(lambda m: kline(m, minute, "103"))["data"]
    assert (new["t"], new["o"], new["h"], new["l"]) == (T0_MS - 5_000 + 60_000, "103", "103", "103")
    hourly = client.recv_until(lambda m: kline(m, hour, "103"))["data"]
    assert (hourly["t"], hourly["o"], hourly["h"], hourly["l"]) == (T0_MS - 5_000, "100", "105", "95.5")
    assert T0_MS % HOUR_MS == 5_000

    # A late subscriber gets the bar in progress at once; other symbols' candles never reach bob.
    late = env.welcomed("alice")
    late.subscribe("kline:BTC-USDT:1d")
    daily = late.recv_until(lambda m: m["type"] == "kline")["data"]
    assert (daily["o"], daily["h"], daily["l"], daily["c"]) == ("100", "105", "95.5", "103")
    env.stack.publish(env.feed, "1.1")
    client.send({"type": "ping"})
    client.recv_until(lambda m: m["type"] == "pong")
    assert {m["channel"] for m in client.received if m["type"] == "kline"} == {minute, hour}


def test_an_unknown_interval_is_refused(env):
    client = env.welcomed("bob")
    answers = client.subscribe("kline:BTC-USDT:2h", "kline:BTC-USDT:1w")
    assert [(a["type"], a["code"]) for a in answers] == [("error", "INVALID_CHANNEL")] * 2
    assert "1m, 5m, 15m, 1h, 4h, 1d" in answers[0]["message"]


def seen(client, wanted, timeout: float = 10.0) -> dict:
    """A message `wanted` accepts, among those read already or the next ones."""
    for message in client.received:
        if wanted(message):
            return message
    return client.recv_until(wanted, timeout)


def test_a_fill_sends_its_position_to_its_owner_only_with_the_rest_figures(env):
    alice = env.welcomed("alice")
    bob = env.welcomed("bob")
    root = env.welcomed("root")
    for client in (alice, bob, root):
        assert client.subscribe("positions")[-1]["channels"] == ["positions"]

    env.start_alice_bot()  # a grid bot of alice's on the config account: its fills are hers
    env.stack.publish(env.feed, "1.101")
    first = alice.recv_until(lambda m: m["type"] == "position_update")
    assert first["channel"] == "positions" and first["data"]["symbol"] == "XRP/USDT"
    assert first["data"]["account_id"] == ACCOUNT and D(first["data"]["quantity"]) > 0
    env.stack.publish(env.feed, "1.079")  # through the 1.08 buy
    env.stack.wait_until(lambda: env.server.request(
        "GET", "/api/v1/trades?limit=100", headers=bearer(env.token("alice"))).body["total"] >= 2)
    env.stack.flush()

    for name, client in (("alice", alice), ("root", root)):
        rest = env.server.request("GET", "/api/v1/positions/XRP-USDT", headers=bearer(env.token(name)))
        assert rest.status == 200, rest.body
        expected = next(item for item in rest.body["items"] if item["account_id"] == ACCOUNT)
        # The last update each got agrees with what REST says now.
        seen(client, lambda m: m["type"] == "position_update" and m["data"] == expected)

    bob.send({"type": "ping"})
    bob.recv_until(lambda m: m["type"] == "pong")
    assert data_types(bob.received) == set()
