"""The `JournalActor`: the only writer of the database while the daemon runs.

Every domain event told to it is appended to the `events` table, with its projections,
in batches: a batch commits when it reaches `batch_size` events, when its oldest event is
`flush_interval_ms` old (checked on a scheduler `Tick`), at once for events whose class
sets `commit_at_once` (order submissions and fills), on `Flush`, and on stop.

If the database refuses a batch (it is down, or locked), the events stay in memory and a
later flush tries again, backing off up to `MAX_RETRY_DELAY_S`: the journal never drops
what it was given.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Protocol, Sequence

import pykka

from actors.messages import Flush, Tick
from actors.scheduler import Scheduler, Timer
from actors.supervised import SupervisedActor, describe_error
from trading.messages import Event

logger = logging.getLogger(__name__)

FLUSH_TIMER = "journal-flush"
MAX_RETRY_DELAY_S = 5.0


class EventStore(Protocol):
    """What the journal writes to (`storage.journal_store.JournalStore`)."""

    def append(self, events: Sequence[Event]) -> int: ...


class JournalActor(SupervisedActor):
    """Batches events into the store; see the module docstring for when it commits."""

    def __init__(
        self,
        *,
        name: str,
        store: EventStore,
        scheduler: Scheduler,
        batch_size: int = 500,
        flush_interval_ms: int = 50,
        supervisor: pykka.ActorRef[Any] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name=name, supervisor=supervisor)
        self.store = store
        self.scheduler = scheduler
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_ms / 1000
        self._monotonic = monotonic
        self._buffer: list[Event] = []
        self._oldest_at = 0.0
        self._timer: Timer | None = None
        self.last_event_id = 0
        self.failed_flushes = 0
        self.last_error: str | None = None
        self._retry_at = 0.0

    def on_start(self) -> None:
        super().on_start()
        self._timer = self.scheduler.tell_every(
            self.flush_interval_s, self.actor_ref, lambda: Tick(timer=FLUSH_TIMER)
        )

    def on_stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._retry_at = 0.0  # a last attempt, whatever the backoff says
        self._flush()
        if self._buffer:
            logger.error("journal stopped with %d events it could not write", len(self._buffer))

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Event):
            return self._append(message)
        return super().on_receive(message)

    def _append(self, event: Event) -> None:
        if not self._buffer:
            self._oldest_at = self._monotonic()
        self._buffer.append(event)
        if len(self._buffer) >= self.batch_size or event.commit_at_once:
            self._flush()

    def on_tick(self, tick: Tick) -> None:
        if self._buffer and self._monotonic() - self._oldest_at >= self.flush_interval_s:
            self._flush()

    def on_flush(self, command: Flush) -> None:
        self._flush()
        if command.reply is None:
            return
        if self._buffer:
            command.reply.set_exception(RuntimeError(f"journal backlog: {self.last_error}"))
        else:
            command.reply.set_result(self.last_event_id)

    @property
    def backlog(self) -> int:
        return len(self._buffer)

    def _flush(self) -> None:
        if not self._buffer or self._monotonic() < self._retry_at:
            return
        batch, self._buffer = self._buffer, []
        try:
            self.last_event_id = self.store.append(batch)
        except Exception as error:
            self._buffer = batch + self._buffer
            self.failed_flushes += 1
            self.last_error = describe_error(error)
            backoff = min(self.flush_interval_s * 2**self.failed_flushes, MAX_RETRY_DELAY_S)
            self._retry_at = self._monotonic() + backoff
            logger.error(
                "journal could not write %d events (attempt %d), keeping them: %s",
                len(self._buffer), self.failed_flushes, self.last_error,
            )
            return
        self.failed_flushes = 0
        self.last_error = None
        self._retry_at = 0.0
