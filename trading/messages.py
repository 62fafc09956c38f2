"""The base of every command, query and event: a frozen dataclass with DESIGN.md's headers.

Subclasses declare their own fields; the headers are keyword-only, so a subclass may add
required positional fields after them. Every concrete message class registers itself by
name, which is how the journal turns a stored row back into the event it was.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import ClassVar


def new_id() -> str:
    """A fresh message or entity id (a UUID string)."""
    return str(uuid.uuid4())


@dataclass(frozen=True, kw_only=True)
class Message:
    """Headers every message carries.

    `correlation_id` is the HTTP request id or the id of the command that caused this
    message, so a fill can be traced to the tick and the request behind it. Timestamps
    are nanoseconds since the epoch, UTC: `ts_event` when the thing happened (exchange or
    simulated time), `ts_init` when this object was made.
    """

    message_id: str = field(default_factory=new_id)
    correlation_id: str | None = None
    ts_event: int = field(default_factory=time.time_ns)
    ts_init: int = field(default_factory=time.time_ns)

    registry: ClassVar[dict[str, type[Message]]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        Message.registry[cls.__name__] = cls

    @property
    def type_name(self) -> str:
        return type(self).__name__


class Event(Message):
    """Something that happened (past tense); events are what the journal stores.

    `commit_at_once` marks events the journal must commit without waiting for a batch
    to fill (order submissions and fills), because recovery depends on them.
    """

    commit_at_once: ClassVar[bool] = False


class Command(Message):
    """Something asked of an actor (imperative)."""
