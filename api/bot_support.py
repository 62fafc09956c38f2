"""What the bot handlers share: finding a caller's bot, journaling a change, and a bot's
figures (live from its actor, else rebuilt from its journal), rounded for the wire.

Summaries (`GET /bots`, `GET /bots/{id}`) take their figures from the read model
(`api.bot_view`) when the process has one: memory only, unless it is behind.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

import pydantic
from sqlalchemy import Engine
from sqlalchemy.engine import Row

from actors.messages import BotState, Flush, GetBotState
from api.bot_replay import Replayed, replay_grid_bot
from api.bot_view import BotView, Snapshot
from api.bridge import ActorGateway, ActorUnavailable
from api.control import BotControl, BotDefinition
from api.errors import ApiError
from api.scope import ScopedHandler
from config.schema import GridConfig
from storage.bot_queries import find_bot
from trading.accounting import ZERO, Holdings, performance_report
from trading.grid.geometry import GridConfigError
from trading.markets import Market
from trading.messages import Event
from trading.money import MONEY_CONTEXT

ACTIVE_STATUSES = frozenset({"running", "paused", "starting", "stopping"})
PERCENT = Decimal("0.0001")
DAYS = Decimal("0.000001")


def bot_actor_name(bot_id: str) -> str:
    """The bot actor's name in the directory (`daemon.wiring.bot_name`)."""
    return f"bot:{bot_id}"


@dataclass(frozen=True)
class Figures:
    """A bot's status and performance (API.md's performance fields, exact)."""

    status: str
    error_message: str | None
    price: Decimal | None
    performance: dict[str, Any]
    live: bool


class BotHandler(ScopedHandler):
    """Base of the bot routes: reads need a viewer, writes a trader (`ScopedHandler`)."""

    @property
    def engine(self) -> Engine:
        if self.context is None or self.context.engine is None:
            raise ApiError(503, "EXCHANGE_UNAVAILABLE", "no database in this process")
        return self.context.engine

    @property
    def control(self) -> BotControl:
        control = self.context.bots if self.context is not None else None
        if control is None:
            raise ApiError(503, "ACTOR_UNAVAILABLE", "bots cannot run in this process")
        return control

    @property
    def gateway(self) -> ActorGateway:
        gateway = self.context.actors if self.context is not None else None
        if gateway is None:
            raise ApiError(503, "ACTOR_UNAVAILABLE", "no actors run in this process")
        return gateway

    @property
    def bot_view(self) -> BotView | None:
        """The read model of bots; None where no relay feeds one (then read the database)."""
        view = self.context.bot_view if self.context is not None else None
        if view is not None:
            view.start()
        return view

    async def refresh_view(self, bot_id: str) -> None:
        """After a write of ours: the read model reads the bot again, so it shows at once."""
        view = self.bot_view
        if view is not None:
            await view.reload(bot_id)

    async def summary_figures(self, row: Row[Any]) -> Figures:
        """`figures(row)`, from the read model when there is one: the bot's published
        figures while an actor runs it, else its journal replayed once and kept."""
        view = self.bot_view
        if view is None:
            return await self.figures(row)
        known = self.known_figures(view, row)
        if known is not None:
            return as_figures(row, *known)
        control = self.context.bots if self.context is not None else None
        actor_status = control.status(row.id) if control is not None else None
        if actor_status is not None:
            state = await self.live_state(row.id)  # behind (or never heard): ask, keep the answer
            if state is not None and state.performance:
                view.keep_state(state)
                return Figures(state.status, state.error_message, state.price, state.performance, True)
            if state is not None:  # still restoring: as `figures` does
                return await self._replayed_figures(row, state)
        kept = view.replayed(row.id)
        if kept is None:
            ticket = view.ticket()
            figures = await self._replayed_figures(row, None)
            view.keep_replayed(row.id, ticket, Snapshot(figures.status, figures.error_message, figures.price, figures.performance))
            return figures
        return as_figures(row, kept, False)

    def known_figures(self, view: BotView, row: Row[Any]) -> tuple[Snapshot, bool] | None:
        """The read model's figures of the bot and whether they are live, if it has them
        now (memory only): the actor's published ones while an actor runs it and they
        agree with its status, else the kept replay."""
        control = self.context.bots if self.context is not None else None
        actor_status = control.status(row.id) if control is not None else None
        if actor_status is not None:
            live = view.live(row.id, actor_status)
            return (live, True) if live is not None else None
        kept = view.replayed(row.id)
        return (kept, False) if kept is not None else None

    async def find_bot(self, bot_id: str) -> Row[Any]:
        """The caller's bot (any bot for an admin); 404 BOT_NOT_FOUND for anyone else's."""
        row = await self.in_executor(find_bot, self.engine, bot_id, self.owner)
        if row is None:
            raise ApiError(404, "BOT_NOT_FOUND", f"no bot {bot_id}")
        return row

    async def journal(self, *events: Event) -> None:
        """Tell `events` to the journal and wait until they are committed (with their
        projections), so that what the caller reads next already shows them."""
        gateway = self.gateway
        for event in events:
            if not gateway.tell(gateway.journal, event):
                raise ApiError(503, "ACTOR_UNAVAILABLE", "the journal is not running")
        await self.commit_journal()

    async def commit_journal(self) -> None:
        gateway = self.gateway
        try:
            await gateway.ask_or_fail(gateway.journal, lambda reply: Flush(reply=reply))
        except RuntimeError as error:  # the journal could not commit (it keeps retrying)
            raise ApiError(503, "ACTOR_UNAVAILABLE", f"the journal could not commit: {error}") from None

    def live_status(self, row: Row[Any]) -> str:
        """The actor's status when an actor runs the bot, else the stored one."""
        control = self.context.bots if self.context is not None else None
        status = control.status(row.id) if control is not None else None
        return status or row.status

    def market_of(self, row: Row[Any]) -> Market | None:
        control = self.context.bots if self.context is not None else None
        return control.market(row.account_id, row.symbol) if control is not None else None

    async def figures(self, row: Row[Any]) -> Figures:
        """Live from the bot actor when one runs it, else rebuilt from the journal."""
        state = await self.live_state(row.id)
        if state is not None and state.performance:
            return Figures(state.status, state.error_message, state.price, state.performance, True)
        return await self._replayed_figures(row, state)

    async def _replayed_figures(self, row: Row[Any], state: BotState | None) -> Figures:
        replayed = await self.replay(row)
        status = state.status if state is not None else row.status
        error = state.error_message if state is not None else row.error_message
        if replayed is None:
            return Figures(status, error, None, _no_performance(), False)
        strategy = replayed.strategy
        return Figures(status, error, strategy.last_price, strategy.performance(), False)

    async def live_state(self, bot_id: str) -> BotState | None:
        """The bot actor's answer; None when no actor runs the bot."""
        gateway = self.context.actors if self.context is not None else None
        if gateway is None:
            return None
        try:
            return await gateway.ask(bot_actor_name(bot_id), lambda reply: GetBotState(reply=reply))
        except ActorUnavailable:
            return None
        except asyncio.TimeoutError:
            raise ApiError(504, "ACTOR_TIMEOUT", f"bot {bot_id} did not answer within {gateway.timeout_s:g} s") from None

    async def replay(self, row: Row[Any]) -> Replayed | None:
        """The bot's strategy rebuilt from its journal; None when its market is unknown
        here or its config does not fit it."""
        market = self.market_of(row)
        if market is None or row.strategy != "grid":
            return None
        try:
            config = GridConfig.model_validate_json(row.config)
            return await self.in_executor(lambda: replay_grid_bot(
                self.engine, bot_id=row.id, account_id=row.account_id, symbol=row.symbol,
                config=config, market=market, clock=self.context.clock,
            ))
        except (GridConfigError, pydantic.ValidationError):
            return None


def as_figures(row: Row[Any], snapshot: Snapshot, live: bool) -> Figures:
    """A read model's snapshot as `Figures`; a replay's status is the row's (it may be newer)."""
    if live:
        return Figures(snapshot.status, snapshot.error_message, snapshot.price, snapshot.performance, True)
    return Figures(row.status, row.error_message, snapshot.price, snapshot.performance, False)


def definition(row: Row[Any]) -> BotDefinition:
    return BotDefinition.of_row(row)


def _no_performance() -> dict[str, Any]:
    return performance_report(Holdings(quote=ZERO), ZERO, ZERO, ZERO, 0, ZERO, ZERO)


class Rounding:
    """Wire precision of one market: prices on its tick, quote money to the precision a
    fill's fee has (tick x step x the fee rates' last digit), percentages to 4 places.
    Unknown market: exact.

    Fees are exact, so profits, fees and balances are whole multiples of that quantum and
    go out unrounded: a bot's grid profit is the sum of its trades' profits to the last
    digit, as GRID.md defines it. Only quotients (averages) are rounded by it."""

    def __init__(self, market: Market | None) -> None:
        self.market = market
        with localcontext(MONEY_CONTEXT):
            self.money = (market.tick_size * market.step_size * _fee_digit(market)).normalize() if market is not None else None

    def price(self, value: Decimal | None) -> Decimal | None:
        if value is None or self.market is None:
            return value
        return _round(value, self.market.tick_size.normalize())

    def quote(self, value: Decimal) -> Decimal:
        return value if self.money is None else _round(value, self.money)

    @staticmethod
    def percent(value: Decimal) -> Decimal:
        return _round(value, PERCENT)

    @staticmethod
    def days(value: Decimal) -> Decimal:
        return _round(value, DAYS)


def _fee_digit(market: Market) -> Decimal:
    """The last decimal place of the market's fee rates (0.001 -> 0.001, 0.00075 -> 0.00001)."""
    exponent = min([0, *(int(rate.normalize().as_tuple().exponent) for rate in (market.maker_fee, market.taker_fee) if rate)])
    return Decimal(1).scaleb(exponent)


def _round(value: Decimal, quantum: Decimal) -> Decimal:
    with localcontext(MONEY_CONTEXT):
        return Decimal(value).quantize(quantum, rounding=ROUND_HALF_EVEN)
