"""The event bus: topics, the wildcard, dead subscribers."""

from __future__ import annotations

import queue
from typing import Any

from actors.bus import ALL_TOPICS, EventBus
from actors.messages import Tick
from tests.actors.helpers import Recorder


def subscriber(name: str) -> tuple[Any, queue.Queue[Any]]:
    received: queue.Queue[Any] = queue.Queue()
    return Recorder.start(name=name, received=received), received


def test_publish_reaches_the_topic_and_the_wildcard_only():
    bus = EventBus()
    bot_a, got_a = subscriber("a")
    bot_b, got_b = subscriber("b")
    relay, got_relay = subscriber("relay")
    bus.subscribe("bot:a", bot_a)
    bus.subscribe("bot:b", bot_b)
    bus.subscribe(ALL_TOPICS, relay)

    message = Tick(timer="x")
    assert bus.publish("bot:a", message) == 2
    assert got_a.get(timeout=2) is message
    assert got_relay.get(timeout=2) is message
    assert got_b.empty()


def test_subscribing_twice_delivers_once_and_unsubscribe_stops_delivery():
    bus = EventBus()
    ref, received = subscriber("a")
    bus.subscribe("t", ref)
    bus.subscribe("t", ref)
    assert bus.publish("t", Tick(timer="1")) == 1
    bus.unsubscribe("t", ref)
    assert bus.publish("t", Tick(timer="2")) == 0
    assert received.get(timeout=2).timer == "1"
    assert received.empty()


def test_dead_subscribers_are_dropped():
    bus = EventBus()
    alive, received = subscriber("alive")
    dead, _ = subscriber("dead")
    bus.subscribe("t", dead)
    bus.subscribe("t", alive)
    dead.stop(block=True)
    assert bus.publish("t", Tick(timer="x")) == 1
    assert bus.subscribers("t") == (alive,)
    assert received.get(timeout=2).timer == "x"
