"""Small real actors for the actor tests."""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass
from collections.abc import Sequence
from typing import Any

from actors.supervised import SupervisedActor
from storage.journal_store import JournalStore
from trading.messages import Command, Event


@dataclass(frozen=True)
class Boom(Command):
    """Makes a `Worker` raise."""

    reason: str = "boom"


@dataclass(frozen=True)
class Echo(Command):
    """Makes a `Worker` put `text` on its log."""

    text: str


class Worker(SupervisedActor):
    """Logs its starts and stops and echoes; raises on `Boom`."""

    def __init__(self, *, log: queue.Queue[tuple[Any, ...]], fail_on_start: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.log = log
        self.fail_on_start = fail_on_start

    def on_start(self) -> None:
        super().on_start()
        self.log.put(("started", self.name, self.actor_urn, time.monotonic()))
        if self.fail_on_start:
            raise RuntimeError("cannot start")

    def on_stop(self) -> None:
        self.log.put(("stopped", self.name, self.actor_urn, time.monotonic()))

    def on_boom(self, message: Boom) -> None:
        raise ValueError(message.reason)

    def on_echo(self, message: Echo) -> None:
        self.log.put(("echo", self.name, message.text, time.monotonic()))


class Recorder(SupervisedActor):
    """Puts every message it receives on a queue (a bus subscriber for tests)."""

    def __init__(self, *, received: queue.Queue[Any], **kwargs: Any):
        super().__init__(**kwargs)
        self.received = received

    def on_receive(self, message: Any) -> Any:
        self.received.put(message)


def next_entry(log: queue.Queue[tuple[Any, ...]], kind: str, name: str, timeout: float = 5.0) -> tuple[Any, ...]:
    """The next log entry of `kind` for actor `name`, skipping others."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {kind!r} from {name!r} within {timeout} s")
        entry = log.get(timeout=remaining)
        if entry[0] == kind and entry[1] == name:
            return entry


def assert_no_entry(log: queue.Queue[tuple[Any, ...]], kind: str, name: str, within: float) -> None:
    """Fails if an entry of `kind` for `name` arrives within `within` seconds."""
    try:
        entry = next_entry(log, kind, name, timeout=within)
    except (AssertionError, queue.Empty):
        return
    raise AssertionError(f"unexpected {entry}")


def next_message(received: queue.Queue[Any], message_type: type, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {message_type.__name__} within {timeout} s")
        message = received.get(timeout=remaining)
        if isinstance(message, message_type):
            return message


class SwitchableStore:
    """A real store behind a database that is down until the test sets `up`."""

    def __init__(self, store: JournalStore) -> None:
        self.store = store
        self.up = False

    def append(self, events: Sequence[Event]) -> int:
        if not self.up:
            raise ConnectionError("database is down")
        return self.store.append(events)
