"""Readiness: can this daemon serve and trade right now? One check per component.

Every check runs concurrently and has its own timeout, so one hung component makes its
own entry "down" instead of the whole answer late. A component's `status` is "ok" or
"down"; the daemon is ready when none is down. Feeds report how old their last price
is but do not decide readiness: a replay that has run out is silent by design.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import Engine
from tornado.ioloop import IOLoop

from actors.messages import (
    ChildStatus,
    ExchangeStatus,
    FeedStatus,
    GetExchangeStatus,
    GetFeedStatus,
    GetSupervisionTree,
)
from api.bridge import ActorGateway, ActorUnavailable
from storage.database import ping

logger = logging.getLogger(__name__)

DATABASE_TIMEOUT_S = 2.0
OK, DOWN = "ok", "down"


class DatabaseProbe:
    """Pings the database in the executor. One ping at a time: probes of a hung database
    share the ping in flight instead of piling up blocked threads."""

    def __init__(self, engine: Engine, timeout_s: float = DATABASE_TIMEOUT_S) -> None:
        self.engine = engine
        self.timeout_s = timeout_s
        self._in_flight: asyncio.Future[float] | None = None
        self._was_ok: bool | None = None

    async def check(self) -> dict[str, Any]:
        if self._in_flight is None or self._in_flight.done():
            self._in_flight = asyncio.ensure_future(IOLoop.current().run_in_executor(None, ping, self.engine))
        try:
            # shield: a timed-out probe leaves the ping running for the next probe to await.
            seconds = await asyncio.wait_for(asyncio.shield(self._in_flight), self.timeout_s)
        except asyncio.TimeoutError:
            return self._down(f"no answer within {self.timeout_s:g} s")
        except Exception as error:  # whatever the driver raises: the answer is "down"
            return self._down(type(error).__name__, error)
        if self._was_ok is False:
            logger.info("database reachable again")
        self._was_ok = True
        return {"status": OK, "latency_ms": round(seconds * 1000, 3)}

    def _down(self, reason: str, error: Exception | None = None) -> dict[str, Any]:
        if self._was_ok is not False:  # log the change, not every probe
            logger.warning("database unreachable: %s", error or reason)
        self._was_ok = False
        # The reason names the error type only: driver messages can carry hosts and users.
        return {"status": DOWN, "latency_ms": None, "error": reason}


async def check_components(
    database: DatabaseProbe | None, actors: ActorGateway | None, now_ns: int
) -> tuple[dict[str, Any], tuple[ChildStatus, ...] | None]:
    """Every component's entry, and the supervision tree (None when it did not answer)."""
    unknown = {"status": DOWN, "error": "not configured"}
    if actors is None:
        db = await database.check() if database is not None else unknown
        return {"database": db, "exchanges": unknown, "feeds": unknown, "actors": unknown}, None
    db_entry, tree, exchanges, feeds = await asyncio.gather(
        database.check() if database is not None else _constant(unknown),
        _tree(actors),
        asyncio.gather(*(_exchange(actors, name) for name in actors.exchanges.values())),
        asyncio.gather(*(_feed(actors, name, now_ns) for name in actors.feeds.values())),
    )
    components = {
        "database": db_entry,
        "exchanges": _group(dict(zip(actors.exchanges, exchanges)), "accounts"),
        "feeds": _group(dict(zip(actors.feeds, feeds)), "feeds"),
        "actors": _actors_entry(tree, actors.critical),
    }
    return components, tree


def is_ready(components: dict[str, Any]) -> bool:
    return all(entry["status"] == OK for entry in components.values())


async def _constant(value: dict[str, Any]) -> dict[str, Any]:
    return value


async def _tree(actors: ActorGateway) -> tuple[ChildStatus, ...] | None:
    try:
        return await actors.ask(None, lambda reply: GetSupervisionTree(reply=reply))
    except (asyncio.TimeoutError, ActorUnavailable):
        return None


async def _exchange(actors: ActorGateway, name: str) -> dict[str, Any]:
    try:
        status: ExchangeStatus = await actors.ask(name, lambda reply: GetExchangeStatus(reply=reply))
    except asyncio.TimeoutError:
        return {"status": DOWN, "ready": False, "error": f"no answer within {actors.timeout_s:g} s"}
    except ActorUnavailable:
        return {"status": DOWN, "ready": False, "error": "not running"}
    entry: dict[str, Any] = {"status": OK if status.ready else DOWN, "ready": status.ready}
    if not status.ready:
        entry["error"] = "restoring from the journal and reconciling"
    if status.circuit_breaker is not None:  # a real exchange
        entry["circuit_breaker"] = status.circuit_breaker
        if status.auth_error is not None:
            entry.update(status=DOWN, error=status.auth_error)
        elif status.circuit_breaker == "open":
            entry.update(status=DOWN, error=f"circuit breaker open: {status.last_error}")
    return entry


async def _feed(actors: ActorGateway, name: str, now_ns: int) -> dict[str, Any]:
    try:
        status: FeedStatus = await actors.ask(name, lambda reply: GetFeedStatus(reply=reply))
    except asyncio.TimeoutError:
        return {"status": DOWN, "error": f"no answer within {actors.timeout_s:g} s"}
    except ActorUnavailable:
        return {"status": DOWN, "error": "not running"}
    age = None if status.last_event_ns is None else round(max(0, now_ns - status.last_event_ns) / 1e9, 3)
    return {
        "status": OK,
        "symbol": status.symbol,
        "last_event_age_s": age,
        "events": status.events_emitted,
        "subscribers": status.subscribers,
    }


def _group(entries: dict[str, dict[str, Any]], key: str) -> dict[str, Any]:
    status = OK if all(entry["status"] == OK for entry in entries.values()) else DOWN
    return {"status": status, key: entries}


def _actors_entry(tree: tuple[ChildStatus, ...] | None, critical: frozenset[str]) -> dict[str, Any]:
    if tree is None:
        return {"status": DOWN, "error": "the supervisor did not answer"}
    states = {child.name: child.state for child in tree}
    failing = sorted(name for name in critical if states.get(name) != "running")
    gave_up = sorted(child.name for child in tree if child.state == "gave_up")
    entry: dict[str, Any] = {
        "status": DOWN if failing else OK,
        "total": len(tree),
        "running": sum(state == "running" for state in states.values()),
        "gave_up": gave_up,
    }
    if failing:
        entry["failing"] = {name: states.get(name, "missing") for name in failing}
    return entry
