"""The journal actor on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Sequence

import pytest

from actors.journal import JournalActor
from actors.messages import Flush
from actors.reply import FutureReply
from storage.database import make_engine
from storage.journal_store import JournalStore
from trading.messages import Event


@dataclass(frozen=True)
class SampleRecorded(Event):
    bot_id: str
    amount: Decimal


@dataclass(frozen=True)
class SampleFilled(Event):
    commit_at_once: ClassVar[bool] = True

    bot_id: str
    amount: Decimal


def start_journal(store: Any, scheduler, **kwargs: Any):
    options = {"batch_size": 1000, "flush_interval_ms": 10_000, **kwargs}
    return JournalActor.start(name="journal", store=store, scheduler=scheduler, **options)


def wait_for_count(store: JournalStore, expected: int, timeout: float = 3.0) -> int:
    deadline = time.monotonic() + timeout
    while (count := store.count()) < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return count


def test_a_full_batch_commits_and_a_partial_one_waits(engine, scheduler):
    store = JournalStore(engine)
    journal = start_journal(store, scheduler, batch_size=10)
    for i in range(9):
        journal.tell(SampleRecorded(bot_id="b1", amount=Decimal(i)))
    time.sleep(0.3)
    assert store.count() == 0
    journal.tell(SampleRecorded(bot_id="b1", amount=Decimal(9)))
    assert wait_for_count(store, 10) == 10


def test_a_partial_batch_commits_after_the_flush_interval(engine, scheduler):
    store = JournalStore(engine)
    journal = start_journal(store, scheduler, flush_interval_ms=50)
    for i in range(3):
        journal.tell(SampleRecorded(bot_id="b1", amount=Decimal(i)))
    assert wait_for_count(store, 3, timeout=2) == 3


def test_fills_and_submissions_commit_at_once(engine, scheduler):
    store = JournalStore(engine)
    journal = start_journal(store, scheduler)
    journal.tell(SampleRecorded(bot_id="b1", amount=Decimal("1")))
    journal.tell(SampleFilled(bot_id="b1", amount=Decimal("2")))
    assert wait_for_count(store, 2, timeout=2) == 2


def test_stop_flushes_what_is_buffered(engine, scheduler):
    store = JournalStore(engine)
    journal = start_journal(store, scheduler)
    for i in range(5):
        journal.tell(SampleRecorded(bot_id="b1", amount=Decimal(i)))
    journal.stop(block=True, timeout=5)
    assert store.count() == 5


def test_flush_answers_with_the_last_row_id(engine, scheduler):
    store = JournalStore(engine)
    journal = start_journal(store, scheduler)
    journal.tell(SampleRecorded(bot_id="b1", amount=Decimal("1")))
    reply = FutureReply()
    journal.tell(Flush(reply=reply))
    last_id = reply.wait(5)
    assert last_id == store.last_event_id() and store.count() == 1


def test_events_survive_a_restart_exactly(database_url, engine, scheduler):
    journal = start_journal(JournalStore(engine), scheduler)
    tiny = SampleRecorded(bot_id="b1", amount=Decimal("0.000000012345"), correlation_id="req-1")
    journal.tell(tiny)
    journal.tell(SampleRecorded(bot_id="b2", amount=Decimal("1.50")))
    journal.stop(block=True, timeout=5)
    engine.dispose()

    reopened = make_engine(database_url)
    try:
        events = [event for _, event in JournalStore(reopened).read_events()]
    finally:
        reopened.dispose()
    assert events[0] == tiny
    assert events[0].amount == Decimal("0.000000012345")
    assert str(events[1].amount) == "1.50"


class FlakyStore:
    """A real store behind a database that refuses the first `failures` writes."""

    def __init__(self, store: JournalStore, failures: int) -> None:
        self.store = store
        self.failures = failures
        self.attempts = 0

    def append(self, events: Sequence[Event]) -> int:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise ConnectionError("database is down")
        return self.store.append(events)


def test_a_refused_batch_is_kept_and_written_later_once(engine, scheduler):
    store = JournalStore(engine)
    flaky = FlakyStore(store, failures=3)
    journal = start_journal(flaky, scheduler, flush_interval_ms=20)
    for i in range(4):
        journal.tell(SampleFilled(bot_id="b1", amount=Decimal(i)))
    assert wait_for_count(store, 4, timeout=5) == 4
    time.sleep(0.2)
    amounts = [event.amount for _, event in store.read_events()]
    assert amounts == [Decimal(i) for i in range(4)]
    assert flaky.attempts > 3
    assert journal.proxy().backlog.get(timeout=2) == 0


@pytest.mark.parametrize("events", [0, 1])
def test_stop_with_nothing_or_something_leaves_no_backlog(engine, scheduler, events):
    store = JournalStore(engine)
    journal = start_journal(store, scheduler)
    for i in range(events):
        journal.tell(SampleRecorded(bot_id="b", amount=Decimal(i)))
    journal.stop(block=True, timeout=5)
    assert store.count() == events


def test_persist_then_confirms_only_after_the_commit(engine, scheduler):
    import queue as queue_module

    from actors.messages import PersistThen
    from tests.actors.helpers import Recorder

    store = JournalStore(engine)
    journal = start_journal(store, scheduler)
    received: queue_module.Queue[Any] = queue_module.Queue()
    counted_at_confirmation: list[int] = []

    class CountingRecorder(Recorder):
        def on_receive(self, message: Any) -> Any:
            counted_at_confirmation.append(store.count())
            return super().on_receive(message)

    recorder = CountingRecorder.start(name="asker", received=received)
    events = tuple(SampleRecorded(bot_id="b", amount=Decimal(i)) for i in range(3))
    journal.tell(PersistThen(events=events, notify=recorder, then="committed"))
    assert received.get(timeout=5) == "committed"
    assert counted_at_confirmation == [3]
