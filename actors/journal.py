"""The `JournalActor`: the only writer of the database while the daemon runs.

Every domain event told to it is appended to the `events` table, with its projections,
in batches: a batch commits when it reaches `batch_size` events, when its oldest event is
`flush_interval_ms` old (checked on a scheduler `Tick`), on `Flush`, on stop, and as soon
as the mailbox is empty for events whose class sets `commit_at_once` (order submissions
and fills) and for `PersistThen`: a burst of those shares one commit (group commit).
`PersistThen` confirmations are told only after their events committed. After a commit
that changed bots' rows or fills it publishes `BotsCommitted` (the API's read model of bots
reloads those rows then, never before the database has them).

If the database refuses a batch (it is down, or locked), the events stay in memory and a
later flush tries again, backing off up to `MAX_RETRY_DELAY_S`: the journal never drops
what it was given.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

import pykka

from actors.bus import SYSTEM_TOPIC, EventBus
from actors.heartbeat import Heartbeat
from actors.messages import ActorGaveUp, BotsCommitted, Flush, GetJournalStatus, JournalStatus, PersistThen, Tick
from actors.scheduler import Scheduler, Timer
from actors.topics import BOT_VIEW
from actors.supervised import SupervisedActor, describe_error
from trading.messages import Event

if TYPE_CHECKING:
    from actors.metrics import ActorMetrics

logger = logging.getLogger(__name__)

FLUSH_TIMER = "journal-flush"
BOT_ROW_EVENTS = frozenset({
    "BotCreated", "BotChanged", "BotDeleted", "ConfigBotSynced", "BotStatusChanged", "OrderFilled",
})
"""Events whose projections change what `GET /bots/{id}` shows of a bot's row (and its
last fill)."""
BOT_PREFIX = "bot:"
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
        bus: EventBus | None = None,
        supervisor: pykka.ActorRef[Any] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        metrics: ActorMetrics | None = None,
        heartbeat: Heartbeat | None = None,
    ) -> None:
        super().__init__(name=name, supervisor=supervisor)
        self.store = store
        self.metrics = metrics
        self.heartbeat = heartbeat  # read by the systemd watchdog: ticks handled, backlog written
        self.scheduler = scheduler
        self.bus = bus
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
        self._urgent = False
        self._confirmations: list[tuple[Any, Any]] = []

    def on_start(self) -> None:
        super().on_start()
        self._timer = self.scheduler.tell_every(
            self.flush_interval_s, self.actor_ref, lambda: Tick(timer=FLUSH_TIMER)
        )
        if self.bus is not None:
            # Supervision events (restarts, give-ups) belong in the journal too.
            self.bus.subscribe(SYSTEM_TOPIC, self.actor_ref)
        if self.metrics is not None:
            # Read at scrape time from the scraping thread; len() of a list is atomic.
            self.metrics.journal_backlog.set_function(lambda: len(self._buffer))

    def on_stop(self) -> None:
        if self.bus is not None:
            self.bus.unsubscribe_all(self.actor_ref)
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
        self._urgent = self._urgent or event.commit_at_once
        self._flush_if_due()

    def on_persist_then(self, command: PersistThen) -> None:
        for event in command.events:
            if not self._buffer:
                self._oldest_at = self._monotonic()
            self._buffer.append(event)
        self._confirmations.append((command.notify, command.then))
        self._urgent = True
        self._flush_if_due()

    def _flush_if_due(self) -> None:
        if len(self._buffer) >= self.batch_size or (self._urgent and self.actor_inbox.empty()):
            self._flush()

    def on_tick(self, tick: Tick) -> None:
        if self._urgent or (self._buffer and self._monotonic() - self._oldest_at >= self.flush_interval_s):
            self._flush()
        if self.heartbeat is not None:
            self.heartbeat.beat(backlog=len(self._buffer))

    def on_flush(self, command: Flush) -> None:
        self._flush()
        if command.reply is None:
            return
        if self._buffer:
            command.reply.set_exception(RuntimeError(f"journal backlog: {self.last_error}"))
        else:
            command.reply.set_result(self.last_event_id)

    def on_get_journal_status(self, query: GetJournalStatus) -> None:
        query.reply.set_result(JournalStatus(
            backlog=self.backlog,
            last_event_id=self.last_event_id,
            failed_flushes=self.failed_flushes,
            last_error=self.last_error,
        ))

    @property
    def backlog(self) -> int:
        return len(self._buffer)

    def _flush(self) -> None:
        if self._monotonic() < self._retry_at:
            return
        if not self._buffer:
            self._confirm()
            return
        batch, self._buffer = self._buffer, []
        started = time.perf_counter()
        try:
            self.last_event_id = self.store.append(batch)
        except Exception as error:
            self._buffer = batch + self._buffer
            if self.metrics is not None:
                self.metrics.journal_failures.inc()
            self.failed_flushes += 1
            self.last_error = describe_error(error)
            backoff = min(self.flush_interval_s * 2**self.failed_flushes, MAX_RETRY_DELAY_S)
            self._retry_at = self._monotonic() + backoff
            logger.error(
                "journal could not write %d events (attempt %d), keeping them: %s",
                len(self._buffer), self.failed_flushes, self.last_error,
            )
            return
        if self.metrics is not None:
            self.metrics.journal_commit.observe(time.perf_counter() - started)
            self.metrics.journal_batch.observe(len(batch))
        self.failed_flushes = 0
        self.last_error = None
        self._retry_at = 0.0
        self._confirm()
        self._announce(batch)

    def _announce(self, batch: Sequence[Event]) -> None:
        """Publish which bots' rows the committed `batch` changed (see the docstring)."""
        if self.bus is None:
            return
        bot_ids: set[str] = set()
        for event in batch:
            name = type(event).__name__
            if name in BOT_ROW_EVENTS:
                bot_id = getattr(event, "bot_id", None)
                if bot_id is not None:
                    bot_ids.add(bot_id)
            elif isinstance(event, ActorGaveUp) and event.name.startswith(BOT_PREFIX):
                bot_ids.add(event.name.removeprefix(BOT_PREFIX))
        if bot_ids:
            self.bus.publish(BOT_VIEW, BotsCommitted(bot_ids=frozenset(bot_ids)))

    def _confirm(self) -> None:
        """Tell each `PersistThen` sender that its events are committed."""
        self._urgent = False
        confirmations, self._confirmations = self._confirmations, []
        for notify, then in confirmations:
            try:
                notify.tell(then)
            except pykka.ActorDeadError:
                logger.debug("%s stopped before its events were committed", notify)
