"""Bots and strategies on the wire (API.md "Bots")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, RootModel

from api.schemas.common import Model, Money, Page, PageQuery, UtcTimestamp
from config.schema import GridConfig

BotStatus = Literal["stopped", "starting", "running", "paused", "stopping", "error"]
BotAction = Literal["start", "stop", "pause", "resume"]


class StrategyOut(BaseModel):
    type: str
    name: str
    description: str
    config_schema: dict[str, Any]


class StrategyCatalog(RootModel[list[StrategyOut]]):
    """`GET /strategies`: every strategy type a bot can run."""


class BotCreate(Model):
    name: str = Field(min_length=1, max_length=100)
    strategy: Literal["grid"]
    account_id: str = Field(min_length=1)
    symbol: str = Field(min_length=3, description="`BTC/USDT` (or `BTC-USDT`)")
    config: GridConfig
    auto_start: bool = False


class BotUpdate(Model):
    """PATCH merges `config` into the bot's config; PUT replaces it whole."""

    name: str | None = Field(None, min_length=1, max_length=100)
    config: dict[str, Any] | None = Field(None, description="grid config fields (see `GET /strategies`)")


class BotStop(Model):
    cancel_orders: bool = True
    sell_base: bool = False


class BotDeleteQuery(Model):
    force: bool = False


class BotListQuery(PageQuery):
    status: BotStatus | None = None
    exchange: str | None = None
    strategy: str | None = None
    symbol: str | None = None


class BotOut(BaseModel):
    id: str
    name: str
    strategy: str
    account_id: str
    exchange: str
    symbol: str
    source: Literal["config", "api"]
    read_only: bool
    """True for config-file bots: only start and stop work through the API."""
    owner_id: str | None
    config: GridConfig
    status: BotStatus
    error_message: str | None
    current_price: Money | None
    grid_profit: Money
    floating_pnl: Money
    total_profit: Money
    profit_percent: Money
    total_trades: int
    investment_amount: Money
    last_executed_at: UtcTimestamp | None
    created_at: UtcTimestamp
    updated_at: UtcTimestamp
    started_at: UtcTimestamp | None
    stopped_at: UtcTimestamp | None


class BotSummary(BaseModel):
    total_bots: int
    active_bots: int
    total_profit: Money
    """Summed over the bots' quote currencies as they are: meaningful for one quote only."""
    total_investment: Money


class BotPage(Page[BotOut]):
    summary: BotSummary


class BotActionOut(BaseModel):
    success: bool
    bot_id: str
    action: BotAction
    status: BotStatus
    message: str


class BotPerformance(BaseModel):
    total_profit: Money
    grid_profit: Money
    floating_pnl: Money
    profit_percent: Money
    annualized_return: Money
    total_trades: int
    buy_trades: int
    sell_trades: int
    completed_cycles: int
    avg_profit_per_cycle: Money
    fees_paid: Money
    investment_amount: Money
    current_value: Money
    running_days: Money
    daily_avg_profit: Money
    max_drawdown: Money
    current_price: Money | None
    live: bool
    """True when the figures come from the running bot, False when rebuilt from its journal."""


class GridLevelQuery(Model):
    status: Literal["available", "pending", "filled"] | None = None


class GridLevelOut(BaseModel):
    index: int
    price: Money
    side: Literal["buy", "sell"] | None
    status: Literal["available", "pending", "filled"]
    order_id: str | None
    filled_at: UtcTimestamp | None


class GridLevels(RootModel[list[GridLevelOut]]):
    """The current run's N+1 levels, lowest first."""


class BotTradeQuery(PageQuery):
    start: datetime | None = None
    end: datetime | None = None


class BotTradeOut(BaseModel):
    id: str
    trade_id: str
    order_id: str
    client_order_id: str
    bot_id: str
    symbol: str
    side: Literal["buy", "sell"]
    price: Money
    quantity: Money
    fee: Money
    fee_currency: str | None
    is_maker: bool | None
    grid_index: int | None
    profit: Money | None
    """The cycle's profit, on the fill that completed it (a closing sell); else null."""
    timestamp: UtcTimestamp


class BotOrderQuery(PageQuery):
    status: Literal["pending", "open", "partially_filled", "filled", "cancelled", "rejected", "expired"] | None = None


class BotEventOut(BaseModel):
    id: int
    type: str
    timestamp: UtcTimestamp
    correlation_id: str | None
    data: dict[str, Any]


class BotStats(BaseModel):
    total_bots: int
    running_bots: int
    signals_generated: int
    """Orders the bots decided on (each grid decision is one order)."""
    orders_submitted: int
    orders_filled: int
    market_events_processed: int
    """Prices the feeds received (the daemon's counter since it started)."""


BotTradePage = Page[BotTradeOut]
BotEventPage = Page[BotEventOut]
