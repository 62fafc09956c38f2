"""The bots' latest statuses, for readers outside the actors (the daemon's `STATUS=` line
and its SIGHUP reload, which waits for a removed bot to finish stopping).

`BotStatusBoard` listens to the `bots` topic and writes each `BotStatusChanged` into a
`BotStatuses`, a small locked map that outlives the actor (a restarted board keeps it).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import pykka

from actors.bus import SYSTEM_TOPIC, EventBus
from actors.messages import ActorGaveUp
from actors.supervised import SupervisedActor
from actors.topics import BOTS
from trading.events import BotStatusChanged


BOT_PREFIX = "bot:"
"""A bot actor's name is `bot:<bot id>` (`daemon.wiring.bot_name`)."""


class BotStatuses:
    """bot id -> its last status; `on_change` (if set) is called, in the board's thread,
    after each change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._statuses: dict[str, str] = {}
        self.on_change: Callable[[], None] | None = None

    def set(self, bot_id: str, status: str) -> None:
        with self._lock:
            changed = self._statuses.get(bot_id) != status
            self._statuses[bot_id] = status
        if changed and self.on_change is not None:
            self.on_change()

    def get(self, bot_id: str) -> str | None:
        with self._lock:
            return self._statuses.get(bot_id)

    def count(self, status: str) -> int:
        with self._lock:
            return sum(1 for value in self._statuses.values() if value == status)


class BotStatusBoard(SupervisedActor):
    """Copies bot status events into a shared `BotStatuses`."""

    def __init__(
        self,
        *,
        name: str,
        bus: EventBus,
        statuses: BotStatuses,
        supervisor: pykka.ActorRef[Any] | None = None,
    ) -> None:
        super().__init__(name=name, supervisor=supervisor)
        self.bus = bus
        self.statuses = statuses

    def on_start(self) -> None:
        super().on_start()
        self.bus.subscribe(BOTS, self.actor_ref)
        self.bus.subscribe(SYSTEM_TOPIC, self.actor_ref)

    def on_release(self) -> None:
        self.bus.unsubscribe_all(self.actor_ref)

    def on_bot_status_changed(self, event: BotStatusChanged) -> None:
        self.statuses.set(event.bot_id, event.status)

    def on_actor_gave_up(self, event: ActorGaveUp) -> None:
        # A bot given up by its supervisor never says so itself.
        if event.name.startswith(BOT_PREFIX):
            self.statuses.set(event.name.removeprefix(BOT_PREFIX), "error")

    def on_actor_restarted(self, event: Any) -> None:
        return None  # the restarted bot reports its status itself
