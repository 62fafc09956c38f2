"""`positions`: after a fill, the position of (account, symbol) to each subscriber who may
see it, with the figures `GET /api/v1/positions/{symbol}` gives that user (`PositionOut`).

Runs on the IOLoop; the fills are loaded in the executor, like the REST handler's, with
the same owner scope (a user sees FIFO over the fills of their accounts and bots, an admin
over all), so the two agree. The journal may not have committed a fill the relay just
handed over, so the last fills seen per (account, symbol) are kept here and the ones the
database lacks (by trade id) are counted in too. A closed position is sent with quantity
0. One update runs at a time; fills arriving meanwhile are gathered for the next one.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from tornado.ioloop import IOLoop

from api.holdings import books, market_lookup, position
from api.prices import latest_prices
from api.schemas.positions import PositionOut
from api.ws.ownership import OwnershipCache
from api.ws.wire import Outgoing, encode, message, now_ms
from storage import trading_queries as queries
from trading.markets import Market

if TYPE_CHECKING:
    from api.bridge import ActorGateway
    from api.ws.hub import Subscribers

logger = logging.getLogger(__name__)

CHANNEL = "positions"
RECENT = 256
"""Fills kept per (account, symbol) for a journal that has not committed them yet."""

Key = tuple[str, str]


class PositionUpdates:
    def __init__(
        self,
        *,
        engine: Engine | None,
        markets: Mapping[str, Mapping[str, Market]],
        actors: ActorGateway | None,
        ownership: OwnershipCache,
    ) -> None:
        self.engine = engine
        self.markets = markets
        self.actors = actors
        self.ownership = ownership
        self._recent: dict[Key, deque[Any]] = {}
        self._dirty: dict[Key, set[str | None]] = {}  # (account, symbol) -> bots that filled
        self._running = False

    def on_fills(self, fills: list[Any], subscribers_of: Callable[[], Subscribers | None]) -> None:
        """Fills handed over by the relay (on the loop): update the subscribers of the
        moment (`subscribers_of()`), soon."""
        subscribers = subscribers_of()
        for fill in fills:
            key = (fill.account_id, fill.symbol)
            self._recent.setdefault(key, deque(maxlen=RECENT)).append(fill)
            if subscribers is not None and self.engine is not None:
                self._dirty.setdefault(key, set()).add(fill.bot_id)
        if self._dirty and not self._running:
            self._running = True
            asyncio.ensure_future(self._run(subscribers_of))

    async def _run(self, subscribers_of: Callable[[], Subscribers | None]) -> None:
        try:
            while self._dirty:
                dirty, self._dirty = self._dirty, {}
                for key, bots in dirty.items():
                    try:
                        await self._update(key, bots, subscribers_of())
                    except Exception:
                        logger.exception("could not send the position of %s", key)
        finally:
            self._running = False

    async def _update(self, key: Key, bots: set[str | None], subscribers: Subscribers | None) -> None:
        if subscribers is None:
            return
        account_id, symbol = key
        owners = {await self.ownership.resolve("account", account_id)}
        owners.update([await self.ownership.resolve("bot", bot) for bot in bots if bot is not None])
        viewers: list[str | None] = [user for user in owners if isinstance(user, str) and user in subscribers.by_user]
        if subscribers.admins:
            viewers.append(None)
        prices = await latest_prices(self.actors) if viewers else {}
        quote = prices.get(symbol)
        for viewer in viewers:
            data = await self._position(key, viewer, quote.price if quote else None)
            if data is None:
                continue
            out = Outgoing(CHANNEL, CHANNEL, encode(message("position_update", CHANNEL, now_ms(), data=data)))
            targets = subscribers.admins if viewer is None else subscribers.by_user.get(viewer, ())
            for client in tuple(targets):
                client.send(out)

    async def _position(self, key: Key, viewer: str | None, price: Any) -> dict[str, Any] | None:
        account_id, symbol = key
        rows = await IOLoop.current().run_in_executor(
            None, queries.all_fills, self.engine, viewer, queries.FillFilter(account_id=account_id, symbol=symbol),
        )
        known = {row.trade_id for row in rows}
        missing = [fill for fill in self._recent.get(key, ()) if fill.trade_id not in known and self._sees(viewer, fill)]
        book = books([*rows, *missing]).get(key)
        if book is None:
            return None
        found = position(account_id, symbol, book, market_lookup(self.markets, account_id, symbol), price)
        return PositionOut.model_validate(found).model_dump(mode="json")

    def _sees(self, viewer: str | None, fill: Any) -> bool:
        if viewer is None:
            return True
        if self.ownership.owner("account", fill.account_id) == viewer:
            return True
        return fill.bot_id is not None and self.ownership.owner("bot", fill.bot_id) == viewer

