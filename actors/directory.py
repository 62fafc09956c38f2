"""Where actors find each other by name, across restarts.

A restarted actor has a new `ActorRef`; whoever kept the old one would tell a dead
actor. The supervisor records each child's current ref here when it (re)starts it, and
senders look the name up when they send.
"""

from __future__ import annotations

import threading
from typing import Any

import pykka


class ActorDirectory:
    """A thread-safe map from actor name to its current ref."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refs: dict[str, pykka.ActorRef[Any]] = {}

    def register(self, name: str, ref: pykka.ActorRef[Any]) -> None:
        with self._lock:
            self._refs[name] = ref

    def unregister(self, name: str) -> None:
        with self._lock:
            self._refs.pop(name, None)

    def snapshot(self) -> list[tuple[str, pykka.ActorRef[Any]]]:
        """Every name and its ref, sorted by name (for metrics and status pages)."""
        with self._lock:
            return sorted(self._refs.items(), key=lambda item: item[0])

    def get(self, name: str) -> pykka.ActorRef[Any] | None:
        return self._refs.get(name)

    def tell(self, name: str, message: Any) -> bool:
        """Tell the actor called `name`; False if there is none alive."""
        ref = self._refs.get(name)
        if ref is None:
            return False
        try:
            ref.tell(message)
        except pykka.ActorDeadError:
            return False
        return True
