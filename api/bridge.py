"""The bridge from the IOLoop to actors: tell a query, await its reply with a timeout.

The loop never blocks on a Pykka future. A query carries a `LoopReply`; the actor settles
it from its own thread, which hands the value over with `IOLoop.add_callback` (the only
thread-safe Tornado call). A reply that comes after the timeout is dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

from tornado.ioloop import IOLoop

from api.errors import ApiError

DEFAULT_TIMEOUT_S = 2.0


class ActorUnavailable(Exception):
    """No actor of that name is running (stopped, given up, or restarting)."""


class LoopReply:
    """A `actors.reply.Reply` whose future lives on the IOLoop that made it."""

    def __init__(self) -> None:
        self._io_loop = IOLoop.current()
        self.future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def set_result(self, value: Any) -> None:
        self._io_loop.add_callback(self._settle, value, None)

    def set_exception(self, error: BaseException) -> None:
        self._io_loop.add_callback(self._settle, None, error)

    def _settle(self, value: Any, error: BaseException | None) -> None:
        if self.future.done():
            return  # timed out already: nobody waits for this any more
        if error is not None:
            self.future.set_exception(error)
        else:
            self.future.set_result(value)


@dataclass(frozen=True)
class ActorGateway:
    """How the API reaches actors: by name, through messages. The daemon builds it;
    the API never sees an actor class or ref."""

    tell: Callable[[str, Any], bool]
    """Tell the actor of that name; False when there is none alive."""
    tell_supervisor: Callable[[Any], bool]
    """Tell the root supervisor; False when it is not alive."""
    exchanges: Mapping[str, str] = field(default_factory=dict)
    """Exchange account id -> the name of its actor."""
    feeds: Mapping[str, str] = field(default_factory=dict)
    """Feed id -> the name of its actor."""
    critical: frozenset[str] = frozenset()
    """Children the daemon is not ready without (bots are not: the others trade on)."""
    journal: str = "journal"
    risk: str = "risk"
    """The risk actor: every order the API places goes through it."""
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def ask(self, name: str | None, make_query: Callable[[LoopReply], Any], timeout_s: float | None = None) -> Any:
        """Tell `make_query(reply)` to the actor `name` (None: the supervisor) and await
        the answer; `ActorUnavailable`, or `asyncio.TimeoutError` after the timeout."""
        reply = LoopReply()
        query = make_query(reply)
        sent = self.tell_supervisor(query) if name is None else self.tell(name, query)
        if not sent:
            raise ActorUnavailable(name or "supervisor")
        return await asyncio.wait_for(reply.future, self.timeout_s if timeout_s is None else timeout_s)

    async def ask_feeds(self, make_query: Callable[[LoopReply], Any]) -> list[tuple[str, str, Any]]:
        """`(feed id, actor name, answer)` of every feed, asked all at once; the answer is
        the exception for a feed that is gone or did not answer in time."""
        feeds = list(self.feeds.items())
        answers = await asyncio.gather(*(self.ask(name, make_query) for _, name in feeds), return_exceptions=True)
        return [(feed_id, name, answer) for (feed_id, name), answer in zip(feeds, answers)]

    async def ask_or_fail(self, name: str | None, make_query: Callable[[LoopReply], Any]) -> Any:
        """`ask`, with API.md's errors: 504 ACTOR_TIMEOUT, 503 when the actor is gone."""
        try:
            return await self.ask(name, make_query)
        except asyncio.TimeoutError:
            raise ApiError(504, "ACTOR_TIMEOUT", f"{name or 'supervisor'} did not answer within {self.timeout_s:g} s") from None
        except ActorUnavailable:
            raise ApiError(503, "ACTOR_UNAVAILABLE", f"{name or 'supervisor'} is not running") from None
