"""`/api/v1/bots`: bot CRUD, the lifecycle (start, stop, pause, resume) and engine stats.

Every change is an event for the journal (`trading.bot_events`; the projectors in
`storage.bot_projections` update `bots`); a handler answers after the journal committed
it. Running bots is the daemon's (`api.control.BotControl`). Config-file bots are visible
to admins only and read-only except start and stop; another user's bot is a 404.

`GET /bots/{id}` answers from the read model of bots (`api.bot_view`) where there is one,
so a read costs no database query and no message to the bot; every write here makes the
read model read the bot again before it answers.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal, InvalidOperation, localcontext
from datetime import datetime
from typing import Any

import pydantic
from sqlalchemy.engine import Row

from api.base import validated
from api.bot_support import ACTIVE_STATUSES, BotHandler, Figures, Rounding, as_figures, definition
from api.control import BotControlError
from api.endpoint import endpoint
from api.errors import ApiError
from api.schemas.bots import (
    BotActionOut,
    BotCreate,
    BotDeleteQuery,
    BotListQuery,
    BotOut,
    BotPage,
    BotStats,
    BotStop,
    BotSummary,
    BotUpdate,
)
from config.grid import GEOMETRY_FIELDS, fit_grid
from config.schema import GridConfig
from storage import bot_queries
from trading.bot_events import BotChanged, BotCreated, BotDeleted
from trading.grid.geometry import GridConfigError, GridPlan
from trading.markets import Market
from trading.money import MONEY_CONTEXT

TAGS = ("bots",)
GRID_ERRORS = ("VALIDATION_ERROR", "INVALID_PRICE_RANGE", "BELOW_MIN_NOTIONAL", "INSUFFICIENT_BALANCE")
EXCLUSIVE = (("grid_count", "price_change_percent"), ("order_amount", "total_investment"))


class BotResource(BotHandler):
    """What the bot routes share: a bot on the wire, the checks of a grid, starting."""

    def tradable_market(self, account_id: str, symbol: str) -> Market:
        reason = self.control.cannot_run(account_id, symbol)
        market = self.control.market(account_id, symbol)
        if reason is not None or market is None:
            raise ApiError(422, "VALIDATION_ERROR", reason or f"no market {symbol}", {
                "errors": [{"loc": ["body", "symbol"], "msg": reason or f"no market {symbol}"}],
            })
        return market

    async def check_balance(self, account_id: str, market: Market, config: GridConfig, plan: GridPlan) -> None:
        """The account must hold the bot's whole investment in free quote (GRID.md: a grid
        spends at most N x order_amount)."""
        with localcontext(MONEY_CONTEXT):
            needed = config.total_investment or plan.order_amount * plan.grid_count
        free = await self.in_executor(self.control.free_balance, account_id, market.quote)
        if free is not None and free < needed:
            raise ApiError(422, "INSUFFICIENT_BALANCE", f"the bot needs {needed} {market.quote}; the account has {free} free", {
                "asset": market.quote, "required": str(needed), "available": str(free),
            })

    async def start(self, row: Row[Any]) -> str:
        try:
            status = await self.control.start_bot(definition(row))
        except BotControlError as error:
            code = error.code if error.code in GRID_ERRORS else "CONFLICT"
            raise ApiError(422 if code != "CONFLICT" else 409, code, error.message) from None
        await self.commit_journal()
        return status

    async def bot_out(self, row: Row[Any]) -> BotOut:
        figures: Figures = await self.figures(row)
        last = await self.in_executor(bot_queries.last_fill_times, self.engine, [row.id])
        return self.summary(row, figures, last.get(row.id))

    def summary(self, row: Row[Any], figures: Figures, last_fill: datetime | None, config: GridConfig | None = None) -> BotOut:
        """The bot on the wire: its row, its figures rounded to its market, its last fill."""
        perf = figures.performance
        rounding = Rounding(self.market_of(row))
        return BotOut(
            id=row.id, name=row.name, strategy=row.strategy, account_id=row.account_id, exchange=row.exchange,
            symbol=row.symbol, source=row.source, read_only=row.source == "config", owner_id=row.owner_id,
            config=config if config is not None else GridConfig.model_validate_json(row.config),
            status=figures.status, error_message=figures.error_message,
            current_price=rounding.price(figures.price),
            grid_profit=rounding.quote(perf["grid_profit"]),
            floating_pnl=rounding.quote(perf["floating_pnl"]),
            total_profit=rounding.quote(perf["total_profit"]),
            profit_percent=rounding.percent(perf["profit_percent"]),
            total_trades=perf["total_trades"],
            investment_amount=rounding.quote(perf["investment_amount"] or _investment(row)),
            last_executed_at=last_fill,
            created_at=row.created_at, updated_at=row.updated_at,
            started_at=row.started_at, stopped_at=row.stopped_at,
        )


class BotsHandler(BotResource):
    """`GET /bots` and `POST /bots`."""

    rate_limit = {"POST": "bot_create"}

    @endpoint("List bots", query=BotListQuery, response=BotPage, tags=TAGS)
    async def get(self) -> None:
        query = self.parse_query(BotListQuery)
        rows = await self.in_executor(lambda: bot_queries.list_bots(
            self.engine, self.owner, status=query.status, exchange=query.exchange,
            strategy=query.strategy, symbol=_symbol(query.symbol) if query.symbol else None,
        ))
        # One query for the last fills; figures from the read model (no replay per bot).
        last = await self.in_executor(bot_queries.last_fill_times, self.engine, [row.id for row in rows])
        figures = await asyncio.gather(*(self.summary_figures(row) for row in rows))
        bots = [self.summary(row, each, last.get(row.id)) for row, each in zip(rows, figures)]
        with localcontext(MONEY_CONTEXT):
            summary = BotSummary(
                total_bots=len(bots),
                active_bots=sum(1 for bot in bots if bot.status in ACTIVE_STATUSES),
                total_profit=sum((bot.total_profit for bot in bots), Decimal(0)),
                total_investment=sum((bot.investment_amount for bot in bots), Decimal(0)),
            )
        self.write_model(BotPage(
            items=bots[query.offset:query.offset + query.limit], total=len(bots),
            limit=query.limit, offset=query.offset, summary=summary,
        ))

    @endpoint(
        "Create a bot", body=BotCreate, response=BotOut, status=201, tags=TAGS,
        errors=(*GRID_ERRORS, "ACCOUNT_NOT_FOUND", "CONFLICT"),
    )
    async def post(self) -> None:
        """Checks the grid against the account's market (tick size, minimums, fees) and its
        free quote balance; `auto_start` starts it at once."""
        body = self.body_fields()
        config = grid_config(body.get("config"))
        create = validated(BotCreate, {**body, "config": config}, "body")
        symbol = _symbol(create.symbol)
        account = await self.in_executor(bot_queries.find_account, self.engine, create.account_id, self.owner)
        if account is None:
            raise ApiError(404, "ACCOUNT_NOT_FOUND", f"no account {create.account_id}")
        market = self.tradable_market(create.account_id, symbol)
        plan = fit(config, market)
        await self.check_balance(create.account_id, market, config, plan)
        owner = self.principal.user_id
        if await self.in_executor(bot_queries.name_taken, self.engine, owner, create.name):
            raise ApiError(409, "CONFLICT", f"you have a bot named {create.name!r} already")
        bot_id = str(uuid.uuid4())
        await self.journal(BotCreated(
            bot_id=bot_id, owner_id=owner, account_id=create.account_id, name=create.name,
            strategy=create.strategy, symbol=symbol, config=config.model_dump_json(),
            correlation_id=self.request_id,
        ))
        row = await self.find_bot(bot_id)
        if create.auto_start:
            await self.start(row)
            row = await self.find_bot(bot_id)
        await self.refresh_view(bot_id)
        self.write_model(await self.bot_out(row), 201)


class BotStatsHandler(BotHandler):
    """`GET /bots/stats`."""

    @endpoint("Engine stats of the caller's bots", response=BotStats, tags=TAGS)
    async def get(self) -> None:
        rows = await self.in_executor(bot_queries.list_bots, self.engine, self.owner)
        ids = [row.id for row in rows]
        decided, filled = await self.in_executor(bot_queries.order_counts, self.engine, ids)
        self.write_model(BotStats(
            total_bots=len(rows),
            running_bots=sum(1 for row in rows if self.live_status(row) == "running"),
            signals_generated=decided,
            orders_submitted=decided,
            orders_filled=filled,
            market_events_processed=self._prices_received(),
        ))

    def _prices_received(self) -> int:
        assert self.context is not None
        total = 0.0
        for metric in self.context.registry.collect():
            if metric.name == "traderd_market_data_received":
                total += sum(sample.value for sample in metric.samples if sample.name.endswith("_total"))
        return int(total)


class BotDetailHandler(BotResource):
    """`GET`, `PATCH`, `PUT` and `DELETE /bots/{id}`."""

    @endpoint("Get a bot with its live state", response=BotOut, errors=("BOT_NOT_FOUND",), tags=TAGS)
    async def get(self, bot_id: str) -> None:
        view = self.bot_view
        if view is None:
            self.write_model(await self.bot_out(await self.find_bot(bot_id)))
            return
        entry = view.cached(bot_id) or await view.entry(bot_id)
        owner = self.owner
        if entry is None or (owner is not None and entry.row.owner_id != owner):
            raise ApiError(404, "BOT_NOT_FOUND", f"no bot {bot_id}")
        # The same row, figures and market make the same bytes: keep them until one changes.
        known = self.known_figures(view, entry.row)
        if known is not None:
            parts = (entry, known[0], self.market_of(entry.row))
            text = view.body(bot_id, parts)
            if text is None:
                model = self.summary(entry.row, as_figures(entry.row, *known), entry.last_fill, entry.config)
                text = json.dumps(model.model_dump(mode="json"), separators=(",", ":"), default=str)
                view.keep_body(bot_id, parts, text)
            self.set_status(200)
            self.finish(text)
            return
        figures = await self.summary_figures(entry.row)
        self.write_model(self.summary(entry.row, figures, entry.last_fill, entry.config))

    @endpoint(
        "Change a bot (config merged)", body=BotUpdate, response=BotOut, tags=TAGS,
        errors=("BOT_NOT_FOUND", "READ_ONLY_BOT", "BOT_RUNNING", "CONFLICT", *GRID_ERRORS),
    )
    async def patch(self, bot_id: str) -> None:
        """Grid geometry (range, count, spacing, amounts) changes need the bot stopped; the
        stop and trigger prices may change while it runs (its actor is replaced and resumes)."""
        await self.change(bot_id, merge=True)

    @endpoint(
        "Replace a bot's name and config", body=BotUpdate, response=BotOut, tags=TAGS,
        errors=("BOT_NOT_FOUND", "READ_ONLY_BOT", "BOT_RUNNING", "CONFLICT", *GRID_ERRORS),
    )
    async def put(self, bot_id: str) -> None:
        await self.change(bot_id, merge=False)

    @endpoint(
        "Delete a bot", query=BotDeleteQuery, status=204, tags=TAGS,
        errors=("BOT_NOT_FOUND", "READ_ONLY_BOT", "BOT_RUNNING"),
    )
    async def delete(self, bot_id: str) -> None:
        """Stopped bots only, unless `?force=true` (stops it first, cancelling its orders)."""
        query = self.parse_query(BotDeleteQuery)
        row = await self.find_bot(bot_id)
        if row.source == "config":
            raise ApiError(409, "READ_ONLY_BOT", "this bot comes from a config file; remove it there")
        status = self.live_status(row)
        if status in ACTIVE_STATUSES:
            if not query.force:
                raise ApiError(409, "BOT_RUNNING", f"the bot is {status}; stop it first or use ?force=true")
            status = await self.control.stop_bot(row.id, cancel_orders=True, sell_base=False)
            if status not in ("stopped", "error"):
                raise ApiError(409, "BOT_RUNNING", f"the bot is still {status}; try again")
        if self.context is not None and self.context.bots is not None:
            await self.context.bots.remove_bot(row.id)
        await self.journal(BotDeleted(bot_id=row.id, correlation_id=self.request_id))
        await self.refresh_view(row.id)
        self.set_status(204)
        self.finish()

    async def change(self, bot_id: str, *, merge: bool) -> None:
        row = await self.find_bot(bot_id)
        if row.source == "config":
            raise ApiError(409, "READ_ONLY_BOT", "this bot comes from a config file; change it there")
        update = self.parse_body(BotUpdate)
        if merge and update.name is None and update.config is None:
            raise ApiError(422, "VALIDATION_ERROR", "nothing to change", {
                "errors": [{"loc": ["body"], "msg": "give name and/or config"}],
            })
        current = GridConfig.model_validate_json(row.config)
        config = current
        if update.config is not None or not merge:
            raw = _merged(current, update.config or {}) if merge else update.config
            config = grid_config(raw)
        geometry_changed = any(getattr(config, name) != getattr(current, name) for name in GEOMETRY_FIELDS)
        status = self.live_status(row)
        if geometry_changed and status in ACTIVE_STATUSES:
            raise ApiError(409, "BOT_RUNNING", f"the bot is {status}; stop it to change the grid's geometry")
        if config != current:
            market = self.tradable_market(row.account_id, row.symbol)
            plan = fit(config, market)
            if geometry_changed:
                await self.check_balance(row.account_id, market, config, plan)
        name = update.name if update.name is not None and update.name != row.name else None
        if name is not None and await self.in_executor(bot_queries.name_taken, self.engine, row.owner_id, name, row.id):
            raise ApiError(409, "CONFLICT", f"a bot named {name!r} exists already")
        if name is not None or config != current:
            await self.journal(BotChanged(
                bot_id=row.id, name=name, config=config.model_dump_json() if config != current else None,
                correlation_id=self.request_id,
            ))
            row = await self.find_bot(bot_id)
            if config != current and self.context is not None and self.context.bots is not None:
                await self.context.bots.reconfigure_bot(definition(row))
            await self.refresh_view(row.id)
        self.write_model(await self.bot_out(row))


class _LifecycleHandler(BotResource):
    """The four `POST /bots/{id}/<action>` routes."""

    async def respond(self, row: Row[Any], action: str, status: str, wanted: str, message: str) -> None:
        await self.refresh_view(row.id)
        success = status == wanted
        if not success:
            message = f"the bot is {status}" + (f": {row.error_message}" if status == "error" and row.error_message else "")
        self.write_model(BotActionOut(success=success, bot_id=row.id, action=action, status=status, message=message))


class BotStartHandler(_LifecycleHandler):
    @endpoint(
        "Start a bot", response=BotActionOut, tags=TAGS,
        errors=("BOT_NOT_FOUND", "ALREADY_RUNNING", "BOT_RUNNING", "INVALID_PRICE_RANGE", "BELOW_MIN_NOTIONAL"),
    )
    async def post(self, bot_id: str) -> None:
        row = await self.find_bot(bot_id)
        status = self.live_status(row)
        if status == "stopping":
            raise ApiError(409, "BOT_RUNNING", "the bot is still stopping")
        if status in ACTIVE_STATUSES:
            raise ApiError(409, "ALREADY_RUNNING", f"the bot is {status} already")
        status = await self.start(row)
        row = await self.find_bot(bot_id)
        await self.respond(row, "start", status, "running", "bot started")


class BotStopHandler(_LifecycleHandler):
    @endpoint("Stop a bot", body=BotStop, response=BotActionOut, tags=TAGS, errors=("BOT_NOT_FOUND", "NOT_RUNNING"))
    async def post(self, bot_id: str) -> None:
        """Cancels the bot's open orders unless `cancel_orders` is false; sells the base it
        holds at market with `sell_base`. Answers once the bot has stopped."""
        stop = self.parse_body(BotStop) if self.request.body.strip() else BotStop()
        row = await self.find_bot(bot_id)
        if self.live_status(row) not in ACTIVE_STATUSES:
            raise ApiError(409, "NOT_RUNNING", f"the bot is {self.live_status(row)}")
        status = await self.control.stop_bot(row.id, cancel_orders=stop.cancel_orders, sell_base=stop.sell_base)
        await self.commit_journal()
        await self.respond(row, "stop", status, "stopped", "bot stopped")


class BotPauseHandler(_LifecycleHandler):
    @endpoint("Pause a bot (its orders stay)", response=BotActionOut, tags=TAGS, errors=("BOT_NOT_FOUND", "NOT_RUNNING"))
    async def post(self, bot_id: str) -> None:
        row = await self.find_bot(bot_id)
        status = self.live_status(row)
        if status != "running":
            raise ApiError(409, "NOT_RUNNING", f"the bot is {status}; only a running bot can pause")
        status = await self.control.pause_bot(row.id)
        await self.commit_journal()
        await self.respond(row, "pause", status, "paused", "bot paused")


class BotResumeHandler(_LifecycleHandler):
    @endpoint(
        "Resume a paused bot", response=BotActionOut, tags=TAGS,
        errors=("BOT_NOT_FOUND", "NOT_RUNNING", "ALREADY_RUNNING"),
    )
    async def post(self, bot_id: str) -> None:
        row = await self.find_bot(bot_id)
        status = self.live_status(row)
        if status == "running":
            raise ApiError(409, "ALREADY_RUNNING", "the bot is running already")
        if status != "paused":
            raise ApiError(409, "NOT_RUNNING", f"the bot is {status}; only a paused bot can resume")
        status = await self.control.resume_bot(row.id)
        await self.commit_journal()
        await self.respond(row, "resume", status, "running", "bot resumed")


# -- config validation ----------------------------------------------------------------------


def grid_config(raw: Any) -> GridConfig:
    """`raw` as a grid config; 422 INVALID_PRICE_RANGE for lower >= upper, 422
    VALIDATION_ERROR (with each key's loc under body.config) for the rest."""
    if isinstance(raw, dict):
        lower, upper = _decimal(raw.get("lower_price")), _decimal(raw.get("upper_price"))
        if lower is not None and upper is not None and lower >= upper:
            raise ApiError(422, "INVALID_PRICE_RANGE", f"lower_price {lower} must be below upper_price {upper}", {
                "errors": [{"loc": ["body", "config", "lower_price"], "msg": "must be below upper_price"}],
            })
    try:
        return GridConfig.model_validate(raw)
    except pydantic.ValidationError as error:
        errors = [
            {
                "loc": ["body", "config", *(str(p) for p in item["loc"]),
                        *(str(p) for p in (item.get("ctx") or {}).get("loc", ()))],
                "msg": item["msg"],
            }
            for item in error.errors(include_url=False)
        ]
        raise ApiError(422, "VALIDATION_ERROR", "the grid config does not fit", {"errors": errors}) from None


def fit(config: GridConfig, market: Market) -> GridPlan:
    """The grid on the market; 422 with GRID.md's code when it does not fit. A spacing
    that loses to the fees is levels too dense: INVALID_PRICE_RANGE."""
    try:
        return fit_grid(config, market)
    except GridConfigError as error:
        code = "INVALID_PRICE_RANGE" if error.code == "SPACING_BELOW_FEES" else error.code
        raise ApiError(422, code, error.message, {"reason": error.code}) from None


def _merged(current: GridConfig, change: dict[str, Any]) -> dict[str, Any]:
    """`change` over the current config; giving one of an exclusive pair drops the other."""
    merged: dict[str, Any] = current.model_dump()
    for pair in EXCLUSIVE:
        for given, other in (pair, pair[::-1]):
            if change.get(given) is not None and other not in change:
                merged[other] = None
    if "price_change_percent" in change and "spacing" not in change:
        merged["spacing"] = None  # resolved again from the new fields
    merged.update(change)
    return {key: value for key, value in merged.items() if value is not None}


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _symbol(symbol: str) -> str:
    """`BTC-USDT` or `btc/usdt` as `BTC/USDT`."""
    return symbol.replace("-", "/").upper()


def _investment(row: Row[Any]) -> Decimal:
    """What the config commits, before the bot's first run says exactly."""
    try:
        config = GridConfig.model_validate_json(row.config)
    except pydantic.ValidationError:
        return Decimal(0)
    if config.total_investment is not None:
        return config.total_investment
    assert config.order_amount is not None
    with localcontext(MONEY_CONTEXT):
        return config.order_amount * config.intervals
