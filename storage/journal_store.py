"""The journal's table: append events in batches, read them back in order.

`JournalStore` is synchronous and assumes a single writer (the journal actor); readers may
use it from any thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from storage.codec import decode_message, encode_message
from storage.errors import DuplicateEvent
from storage.models import EventRow
from storage.projections import apply_projections
from trading.messages import Event

_events = EventRow.__table__


class JournalStore:
    """Appends events to the `events` table and reads them back."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def append(self, events: Sequence[Event]) -> int:
        """Store `events` and run their projectors in one transaction; the last event's id.

        Raises `DuplicateEvent` when a message_id is stored already and `ProjectionError`
        when a projector fails; either way nothing of the batch is kept.
        """
        if not events:
            return self.last_event_id()
        rows = [_row(event) for event in events]
        with self._engine.begin() as connection:
            try:
                connection.execute(insert(_events), rows)
            except IntegrityError as error:
                # Only the message_id is unique; the driver's message names it, and the
                # full error would repeat the whole batch.
                raise DuplicateEvent(str(error.orig)) from error
            # One writer, so the newest id is this batch's last. (RETURNING would say so
            # too, but SQLite has it only from 3.35, newer than some LTS systems ship.)
            last_id = _last_id(connection)
            apply_projections(connection, events)
        return last_id

    def not_stored(self, events: Sequence[Event]) -> list[Event]:
        """The events of `events` whose message_id the journal does not hold yet (after a
        writer died, its batch may have been committed or not)."""
        if not events:
            return []
        with self._engine.connect() as connection:
            stored = set(connection.execute(
                select(_events.c.message_id).where(_events.c.message_id.in_([e.message_id for e in events]))
            ).scalars())
        return [event for event in events if event.message_id not in stored]

    def read_events(
        self,
        after_id: int = 0,
        limit: int = 1000,
        event_types: Iterable[str] | None = None,
        bot_id: str | None = None,
        account_id: str | None = None,
    ) -> list[tuple[int, Event]]:
        """Up to `limit` events with ids above `after_id`, oldest first, with their ids."""
        query = select(_events.c.id, _events.c.event_type, _events.c.payload).where(
            _events.c.id > after_id
        )
        if event_types is not None:
            query = query.where(_events.c.event_type.in_(list(event_types)))
        if bot_id is not None:
            query = query.where(_events.c.bot_id == bot_id)
        if account_id is not None:
            query = query.where(_events.c.account_id == account_id)
        query = query.order_by(_events.c.id).limit(limit)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [(id_, cast(Event, decode_message(name, payload))) for id_, name, payload in rows]

    def read_all_events(self, **filters: Any) -> list[Event]:
        """Every event matching the `read_events` filters, oldest first, read in pages."""
        events: list[Event] = []
        after_id = 0
        while page := self.read_events(after_id=after_id, limit=5000, **filters):
            events.extend(event for _, event in page)
            after_id = page[-1][0]
        return events

    def last_event_id(self) -> int:
        """The id of the newest event; 0 for an empty journal."""
        with self._engine.connect() as connection:
            return _last_id(connection)

    def count(self) -> int:
        """How many events the journal holds."""
        with self._engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(_events)).scalar_one()


def _last_id(connection: Connection) -> int:
    return connection.execute(select(func.max(_events.c.id))).scalar_one() or 0


def _row(event: Event) -> dict[str, object]:
    event_type, payload = encode_message(event)
    return {
        "message_id": event.message_id,
        "correlation_id": event.correlation_id,
        "event_type": event_type,
        "bot_id": getattr(event, "bot_id", None),
        "account_id": getattr(event, "account_id", None),
        "ts_event": event.ts_event,
        "ts_init": event.ts_init,
        "payload": payload,
    }
