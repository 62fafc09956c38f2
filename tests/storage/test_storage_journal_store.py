from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection

from storage.database import make_engine
from storage.errors import DuplicateEvent, ProjectionError
from storage.journal_store import JournalStore
from storage.migrate import upgrade
from storage.models import EventRow, UserRow
from storage.projections import projector, unregister
from trading.messages import Event


@dataclass(frozen=True)
class JournalProbe(Event):
    bot_id: str | None
    amount: Decimal
    account_id: str | None = None


@dataclass(frozen=True)
class JournalOther(Event):
    label: str


@dataclass(frozen=True)
class JournalProjected(Event):
    username: str


def probes(count: int, bot_id: str | None = "bot-1") -> list[JournalProbe]:
    return [JournalProbe(bot_id=bot_id, amount=Decimal(f"{i}.10")) for i in range(count)]


@pytest.fixture
def store(engine: Engine) -> JournalStore:
    return JournalStore(engine)


@pytest.fixture
def user_projector() -> Iterator[None]:
    """Turns each JournalProjected into a user; refuses the username "boom"."""

    @projector("JournalProjected")
    def add_user(connection: Connection, event: JournalProjected) -> None:
        if event.username == "boom":
            raise RuntimeError("projector failed")
        now = datetime.now(timezone.utc)
        connection.execute(
            UserRow.__table__.insert(),
            {
                "id": event.message_id,
                "username": event.username,
                "password_hash": "x",
                "role": "viewer",
                "created_at": now,
                "updated_at": now,
            },
        )

    yield
    unregister(add_user)


def test_append_returns_the_last_id_and_events_read_back_in_order(store: JournalStore) -> None:
    events = probes(3)

    last_id = store.append(events)

    read = store.read_events()
    assert [event for _, event in read] == events
    assert read[-1][0] == last_id == store.last_event_id()
    assert [id_ for id_, _ in read] == sorted(id_ for id_, _ in read)
    assert store.count() == 3


def test_an_empty_journal(store: JournalStore) -> None:
    assert (store.read_events(), store.last_event_id(), store.count()) == ([], 0, 0)
    assert store.append([]) == 0


def test_events_survive_a_restart(database_url: str) -> None:
    events = probes(2)
    first = make_engine(database_url)
    try:
        upgrade(first)
        JournalStore(first).append(events)
    finally:
        first.dispose()

    second = make_engine(database_url)
    try:
        assert [event for _, event in JournalStore(second).read_events()] == events
    finally:
        second.dispose()


def test_bot_and_account_columns_come_from_the_event(engine: Engine, store: JournalStore) -> None:
    store.append(
        [JournalProbe(bot_id="b", amount=Decimal(1), account_id="paper"), JournalOther(label="x")]
    )

    with engine.connect() as connection:
        rows = connection.execute(
            select(EventRow.event_type, EventRow.bot_id, EventRow.account_id).order_by(EventRow.id)
        ).all()

    assert [tuple(row) for row in rows] == [
        ("JournalProbe", "b", "paper"),
        ("JournalOther", None, None),
    ]


def test_read_events_filters(store: JournalStore) -> None:
    store.append([*probes(2, "a"), JournalOther(label="x"), *probes(2, "b")])

    def types(**filters: Any) -> list[str]:
        return [event.type_name for _, event in store.read_events(**filters)]

    assert types(event_types=["JournalOther"]) == ["JournalOther"]
    assert types(bot_id="b") == ["JournalProbe", "JournalProbe"]
    assert types(event_types=["JournalProbe"], bot_id="a") == ["JournalProbe", "JournalProbe"]
    assert len(store.read_events(limit=2)) == 2
    third_id = store.read_events()[2][0]
    assert [id_ for id_, _ in store.read_events(after_id=third_id)] == [third_id + 1, third_id + 2]


def test_message_ids_are_unique(store: JournalStore) -> None:
    event = probes(1)[0]
    store.append([event])

    with pytest.raises(DuplicateEvent):
        store.append([*probes(2), event])

    assert store.count() == 1


@pytest.mark.usefixtures("user_projector")
def test_projectors_write_in_the_journal_transaction(engine: Engine, store: JournalStore) -> None:
    store.append([JournalProjected(username="ada"), JournalProbe(bot_id=None, amount=Decimal(0))])

    assert _usernames(engine) == ["ada"]


@pytest.mark.usefixtures("user_projector")
def test_a_failing_projector_rolls_back_the_whole_batch(
    engine: Engine, store: JournalStore
) -> None:
    store.append(probes(1))
    batch = [*probes(2), JournalProjected(username="ada"), JournalProjected(username="boom")]

    with pytest.raises(ProjectionError, match="projector failed"):
        store.append(batch)

    assert store.count() == 1
    assert _usernames(engine) == []


def _usernames(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        query = select(UserRow.username).order_by(UserRow.username)
        return list(connection.execute(query).scalars())
