"""The event bus: actors subscribe by topic; publishers `tell` every subscriber.

It is a plain thread-safe object rather than an actor, so a publish is one `tell` per
subscriber and no extra hop. Subscriber lists are copied on write, so `publish` (the hot
path) takes no lock.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pykka

logger = logging.getLogger(__name__)

ALL_TOPICS = "*"
SYSTEM_TOPIC = "system"


class EventBus:
    """Topics are strings such as `system`, `bot:<id>`, `market:XRP/USDT`; `*` is every topic."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, tuple[pykka.ActorRef[Any], ...]] = {}

    def subscribe(self, topic: str, ref: pykka.ActorRef[Any]) -> None:
        with self._lock:
            current = self._subscribers.get(topic, ())
            if ref not in current:
                self._subscribers = {**self._subscribers, topic: current + (ref,)}

    def unsubscribe(self, topic: str, ref: pykka.ActorRef[Any]) -> None:
        with self._lock:
            current = self._subscribers.get(topic, ())
            remaining = tuple(r for r in current if r != ref)
            subscribers = dict(self._subscribers)
            if remaining:
                subscribers[topic] = remaining
            else:
                subscribers.pop(topic, None)
            self._subscribers = subscribers

    def unsubscribe_all(self, ref: pykka.ActorRef[Any]) -> None:
        for topic in list(self._subscribers):
            self.unsubscribe(topic, ref)

    def subscribers(self, topic: str) -> tuple[pykka.ActorRef[Any], ...]:
        return self._subscribers.get(topic, ())

    def publish(self, topic: str, message: Any) -> int:
        """Tell `message` to the topic's and the wildcard's subscribers; returns how many."""
        subscribers = self._subscribers
        delivered = 0
        for ref in subscribers.get(topic, ()) + subscribers.get(ALL_TOPICS, ()):
            try:
                ref.tell(message)
                delivered += 1
            except pykka.ActorDeadError:
                logger.debug("dropping dead subscriber %s of %s", ref, topic)
                self.unsubscribe_all(ref)
        return delivered
