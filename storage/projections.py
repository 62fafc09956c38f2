"""Projectors: functions that keep the read tables current as events are journaled.

A projector runs inside the journal's transaction, so an event and what it changes in
`orders`, `fills`, `bots` and friends are committed together or not at all::

    @projector("OrderFilled")
    def record_fill(connection: Connection, event: OrderFilled) -> None:
        connection.execute(...)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from storage.errors import ProjectionError
from trading.messages import Event

Projector = Callable[[Connection, Any], None]
"""Called with the journal's connection and one event of a type it registered for."""

P = TypeVar("P", bound=Projector)

_projectors: dict[str, list[Projector]] = {}


def projector(*event_types: str) -> Callable[[P], P]:
    """Register the decorated function for events of these type names, in order."""

    def register(function: P) -> P:
        for event_type in event_types:
            _projectors.setdefault(event_type, []).append(function)
        return function

    return register


def unregister(function: Projector) -> None:
    """Forget `function` for every event type it was registered for."""
    for event_type, functions in list(_projectors.items()):
        _projectors[event_type] = [f for f in functions if f is not function]
        if not _projectors[event_type]:
            del _projectors[event_type]


def apply_projections(connection: Connection, events: Iterable[Event]) -> None:
    """Run every registered projector over `events`, in order, on `connection`."""
    for event in events:
        for function in _projectors.get(type(event).__name__, ()):
            try:
                function(connection, event)
            except Exception as error:
                raise ProjectionError(
                    f"{function.__qualname__} failed on {type(event).__name__}"
                    f" {event.message_id}: {error}"
                ) from error
