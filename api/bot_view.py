"""`BotView`: the IOLoop's read model of bots, so `GET /bots/{id}` reads only memory.

It keeps three things, each kept fresh by events rather than read per request:

- bot rows (with the account's exchange and the bot's last fill time), loaded from the
  database in the executor on first use, and again when the journal says it committed a
  change to them (`BotsCommitted`) or when the API wrote them itself;
- the live figures of bots an actor runs, from the `BotFigures` each bot publishes when its
  figures change (relayed through `api.bot_feed.BotViewFeed`);
- the figures of bots no actor runs, rebuilt from the journal once and kept until the
  journal commits something of theirs.

Every load takes a ticket before it starts; a commit notice marks its bots stale as of
the last ticket given, and a load older than that is not kept: a row read before a
commit never wins over the commit. Loop-only, except the executor calls it makes.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, TypeVar

import pydantic
from sqlalchemy import Engine
from sqlalchemy.engine import Row
from tornado.ioloop import IOLoop

from actors.messages import BotFigures, BotState
from api.bot_feed import BotViewFeed
from config.schema import GridConfig
from storage.bot_queries import bots_with_last_fills

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class BotEntry:
    """A bot's row as the database last had it, its config parsed, its last fill time."""

    row: Row[Any]
    config: GridConfig | None
    last_fill: datetime | None


@dataclass(frozen=True)
class Snapshot:
    """Figures of one bot (status, error, price and the summary's performance fields)."""

    status: str
    error_message: str | None
    price: Any
    performance: dict[str, Any]


class BotView:
    """See the module docstring. Built per `ApiContext`; `start()` on the loop."""

    def __init__(self, engine: Engine, feed: BotViewFeed) -> None:
        self.engine = engine
        self.feed = feed
        self._started = False
        self._tickets = itertools.count(1)
        self._last_ticket = 0
        self._rows: dict[str, tuple[int, BotEntry]] = {}
        self._stale: dict[str, int] = {}  # bot id -> the last ticket given when it changed
        self._dirty: set[str] = set()
        self._reloading = False
        self._live: dict[str, tuple[str, int, Snapshot]] = {}  # bot id -> (actor, seq, figures)
        self._replayed: dict[str, tuple[int, Snapshot]] = {}
        self._bodies: dict[str, tuple[tuple[Any, ...], str]] = {}

    def start(self) -> None:
        """Listen to the feed (on the loop); idempotent."""
        if not self._started:
            self._started = True
            self.feed.attach(self._on_feed)

    # -- rows -------------------------------------------------------------------------------

    def cached(self, bot_id: str) -> BotEntry | None:
        kept = self._rows.get(bot_id)
        return kept[1] if kept is not None else None

    async def entry(self, bot_id: str) -> BotEntry | None:
        """The bot's entry; from the database (executor) only when not cached."""
        kept = self._rows.get(bot_id)
        if kept is not None:
            return kept[1]
        return (await self._load([bot_id]))[0].get(bot_id)

    async def reload(self, bot_id: str) -> BotEntry | None:
        """Read the bot again now: after the API's own writes, so they show at once. If a
        commit notice came during the read, the read is not kept (it may predate that
        commit), and neither is the row from before: the next request reads afresh."""
        self._mark_stale(bot_id)
        entries, kept = await self._load([bot_id])
        if bot_id not in kept:
            self._rows.pop(bot_id, None)
            self._bodies.pop(bot_id, None)
        return entries.get(bot_id)

    def ticket(self) -> int:
        self._last_ticket = next(self._tickets)
        return self._last_ticket

    async def _load(self, bot_ids: list[str]) -> tuple[dict[str, BotEntry], set[str]]:
        """The entries read, and the ids whose reading was kept (or dropped, for a bot no
        longer there) rather than passed over as older than a commit."""
        ticket = self.ticket()
        rows, last_fills = await self._executor(bots_with_last_fills, self.engine, bot_ids)
        entries, kept = {}, set()
        for bot_id in bot_ids:
            row = rows.get(bot_id)
            entry = BotEntry(row, _config(row.config), last_fills.get(bot_id)) if row is not None else None
            if entry is not None:
                entries[bot_id] = entry
            if ticket <= self._stale.get(bot_id, 0):
                continue  # it changed while we read: a newer load keeps it
            held = self._rows.get(bot_id)
            if held is not None and held[0] > ticket:
                continue
            kept.add(bot_id)
            if entry is None:
                self._forget(bot_id)
            else:
                self._rows[bot_id] = (ticket, entry)
        return entries, kept

    def _forget(self, bot_id: str) -> None:
        self._rows.pop(bot_id, None)
        self._live.pop(bot_id, None)
        self._bodies.pop(bot_id, None)

    def _mark_stale(self, bot_id: str) -> None:
        self._stale[bot_id] = self._last_ticket
        self._replayed.pop(bot_id, None)

    # -- figures ------------------------------------------------------------------------

    def live(self, bot_id: str, actor_status: str) -> Snapshot | None:
        """The bot's last published figures, if they agree with the status its actor
        last reported (else they are behind: ask the actor)."""
        kept = self._live.get(bot_id)
        if kept is None or kept[2].status != actor_status:
            return None
        self._replayed.pop(bot_id, None)  # an actor runs it: a replay from before is old
        return kept[2]

    def keep_state(self, state: BotState) -> None:
        """An answer of the bot actor (`GetBotState`), if no newer figures came meanwhile."""
        figures = BotFigures(
            bot_id=state.bot_id, actor=state.actor, seq=state.seq, status=state.status,
            error_message=state.error_message, price=state.price, performance=state.performance,
        )
        self._keep_figures(figures)

    def replayed(self, bot_id: str) -> Snapshot | None:
        kept = self._replayed.get(bot_id)
        return kept[1] if kept is not None else None

    def keep_replayed(self, bot_id: str, ticket: int, figures: Snapshot) -> None:
        """Figures rebuilt from the journal with `ticket` taken before the replay began."""
        if ticket > self._stale.get(bot_id, 0):
            self._replayed[bot_id] = (ticket, figures)

    def _keep_figures(self, figures: BotFigures) -> None:
        kept = self._live.get(figures.bot_id)
        if kept is not None and kept[0] == figures.actor and kept[1] >= figures.seq:
            return
        snapshot = Snapshot(figures.status, figures.error_message, figures.price, figures.performance)
        self._live[figures.bot_id] = (figures.actor, figures.seq, snapshot)

    # -- answers ------------------------------------------------------------------------

    def body(self, bot_id: str, parts: tuple[Any, ...]) -> str | None:
        """The JSON kept for the bot, if it was made from these very objects."""
        kept = self._bodies.get(bot_id)
        if kept is None or len(kept[0]) != len(parts) or any(a is not b for a, b in zip(kept[0], parts)):
            return None
        return kept[1]

    def keep_body(self, bot_id: str, parts: tuple[Any, ...], text: str) -> None:
        self._bodies[bot_id] = (parts, text)

    # -- the feed -----------------------------------------------------------------------

    def _on_feed(self, figures: list[BotFigures], committed: set[str]) -> None:
        for item in figures:
            self._keep_figures(item)
        for bot_id in committed:
            self._mark_stale(bot_id)
            if bot_id in self._rows:
                self._dirty.add(bot_id)
        if self._dirty and not self._reloading:
            self._reloading = True
            IOLoop.current().add_callback(self._reload_dirty)

    async def _reload_dirty(self) -> None:
        """Reload the rows the journal changed, one batch at a time."""
        try:
            while self._dirty:
                bot_ids, self._dirty = sorted(self._dirty), set()
                try:
                    await self._load(bot_ids)
                except Exception:
                    logger.exception("could not reload bots %s; reading them afresh on next use", bot_ids)
                    for bot_id in bot_ids:
                        self._rows.pop(bot_id, None)
        finally:
            self._reloading = False

    async def _executor(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, function, *args)


def _config(raw: str) -> GridConfig | None:
    try:
        return GridConfig.model_validate_json(raw)
    except pydantic.ValidationError:
        return None
