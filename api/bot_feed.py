"""`BotViewFeed`: the thread boundary between the `RelayActor` and the read model of bots.

The relay calls `push(batch)` on its own thread (beside the WebSocket outlet); the feed
keeps the latest `BotFigures` of each bot (latest wins: a loop that falls behind finds one
snapshot per bot, never a backlog) and the ids of bots whose rows the journal committed,
and wakes the IOLoop with one `add_callback` per burst. The daemon pushes a
`BotsCommitted` itself after it writes config bots' rows outside the journal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from tornado.ioloop import IOLoop

from actors.messages import BotFigures, BotsCommitted

Consumer = Callable[[list[BotFigures], set[str]], None]


class BotViewFeed:
    """See the module docstring. `push` from any thread; `attach` on the loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._figures: dict[str, BotFigures] = {}
        self._committed: set[str] = set()
        self._io_loop: IOLoop | None = None
        self._consumer: Consumer | None = None
        self._wake_pending = False

    def attach(self, consumer: Consumer) -> None:
        """Deliver to `consumer` on the current IOLoop from now on; figures that came
        before are delivered at once (commit notices before are moot: nothing is cached)."""
        with self._lock:
            self._io_loop = IOLoop.current()
            self._consumer = consumer
            self._committed.clear()
        self._drain()

    def detach(self) -> None:
        with self._lock:
            self._io_loop = None
            self._consumer = None
            self._committed.clear()

    def push(self, batch: Sequence[Any]) -> None:
        """Any thread: keep what the read model needs from `batch`; wake the loop once."""
        with self._lock:
            for item in batch:
                if isinstance(item, BotFigures):
                    self._figures[item.bot_id] = item
                elif isinstance(item, BotsCommitted) and self._consumer is not None:
                    self._committed.update(item.bot_ids)
            if self._io_loop is None or self._wake_pending or not (self._figures or self._committed):
                return
            self._wake_pending = True
            io_loop = self._io_loop
        try:
            io_loop.add_callback(self._drain)
        except RuntimeError:  # the loop is closed: the daemon is going away
            pass

    def _drain(self) -> None:
        with self._lock:
            self._wake_pending = False
            consumer = self._consumer
            if consumer is None:
                return
            figures = list(self._figures.values())
            self._figures = {}
            committed, self._committed = self._committed, set()
        if figures or committed:
            consumer(figures, committed)
