"""Messages only actors use: timers, supervision and journal control.

Domain commands and events live in `trading/`; these are the plumbing between actors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.reply import Reply
from trading.messages import Command, Event


@dataclass(frozen=True)
class Tick(Command):
    """A nudge from the scheduler; `timer` names which periodic job it is for."""

    timer: str


@dataclass(frozen=True)
class ChildFailed(Event):
    """A supervised child raised in `on_receive`; told to its supervisor by the child."""

    name: str
    actor_urn: str
    error: str


@dataclass(frozen=True)
class RestartChild(Command):
    """The supervisor's own reminder, after a backoff delay, to start a child again."""

    name: str
    generation: int


@dataclass(frozen=True)
class ActorRestarted(Event):
    """A child was started again after a failure."""

    name: str
    restarts: int
    error: str


@dataclass(frozen=True)
class ActorGaveUp(Event):
    """A child failed too often in its window and is left stopped."""

    name: str
    restarts: int
    error: str


@dataclass(frozen=True)
class GetSupervisionTree(Command):
    """Query: the supervisor answers with a tuple of `ChildStatus`."""

    reply: Reply


@dataclass(frozen=True)
class ChildStatus:
    """One child as its supervisor sees it."""

    name: str
    state: str
    restarts: int
    mailbox_depth: int
    last_error: str | None


@dataclass(frozen=True)
class Flush(Command):
    """Ask the journal to commit what it holds; it answers with the last event row id."""

    reply: Reply | None = None


@dataclass(frozen=True)
class PersistThen(Command):
    """Journal `events`; once they are committed, tell `then` to `notify` (an ActorRef).

    The exchange actor sends an order only after its `OrderSubmitted` is committed, so
    no crash can leave an order on the exchange that the journal does not know.
    """

    events: tuple[Event, ...]
    notify: Any
    then: Any


@dataclass(frozen=True)
class GetExchangeStatus(Command):
    """Query: an exchange actor answers with an `ExchangeStatus` at once (never waits)."""

    reply: Reply


@dataclass(frozen=True)
class ExchangeStatus:
    """Whether an exchange account can trade: its venue restored and reconciled."""

    account_id: str
    ready: bool
    queued_commands: int


@dataclass(frozen=True)
class GetFeedStatus(Command):
    """Query: a feed actor answers with a `FeedStatus`."""

    reply: Reply


@dataclass(frozen=True)
class FeedStatus:
    """A feed's output so far; `last_event_ns` is None before its first price."""

    symbol: str
    events_emitted: int
    last_event_ns: int | None
    subscribers: int


@dataclass(frozen=True)
class GetJournalStatus(Command):
    """Query: the journal answers with a `JournalStatus`."""

    reply: Reply


@dataclass(frozen=True)
class JournalStatus:
    """Events the journal holds but has not committed yet, and why, if it is failing."""

    backlog: int
    last_event_id: int
    failed_flushes: int
    last_error: str | None
