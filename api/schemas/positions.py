"""Positions, portfolio and dashboard on the wire."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from api.schemas.common import Model, Money, Page, PageQuery, UtcTimestamp


class PositionOut(BaseModel):
    account_id: str
    symbol: str
    base: str
    quote: str
    quantity: Money
    entry_price: Money = Field(description="FIFO average cost of the open lots")
    cost: Money
    current_price: Money | None = Field(description="the latest feed price; null when no feed carries the symbol")
    notional_value: Money | None
    unrealized_pnl: Money | None
    realized_pnl: Money
    return_pct: Money | None


class QuoteTotals(BaseModel):
    cost: Money
    notional_value: Money
    unrealized_pnl: Money
    realized_pnl: Money


class PositionSummary(BaseModel):
    total_positions: int
    by_quote: dict[str, QuoteTotals] = Field(description="totals per quote currency (sums across currencies mean nothing)")


class PositionPage(Page[PositionOut]):
    summary: PositionSummary


class PositionQuery(PageQuery):
    account_id: str | None = None


class PositionSymbolQuery(Model):
    account_id: str | None = None


class PositionList(BaseModel):
    symbol: str
    items: list[PositionOut]


class ClosePositionQuery(Model):
    account_id: str


class QuoteQuery(Model):
    quote: str = Field("USDT", description="the currency values are given in")


class PnlQuery(QuoteQuery):
    start: date | None = None
    end: date | None = None


class BalanceOut(BaseModel):
    asset: str
    free: Money
    locked: Money
    total: Money
    price: Money | None
    value: Money | None


class AccountValue(BaseModel):
    account_id: str
    name: str
    exchange: str
    total_value: Money
    balances: list[BalanceOut]


class PortfolioOut(BaseModel):
    quote: str
    total_value: Money = Field(description="the priced balances, in `quote`")
    available_balance: Money = Field(description="the free part of `total_value`")
    unpriced_assets: list[str]
    accounts: list[AccountValue]


class AllocationItem(BaseModel):
    asset: str
    total: Money
    value: Money
    percent: Money


class AllocationOut(BaseModel):
    quote: str
    total_value: Money
    items: list[AllocationItem]
    unpriced_assets: list[str]


class DailyPnl(BaseModel):
    date: date
    realized_pnl: Money
    fees: Money
    trades: int
    volume: Money


class PnlOut(BaseModel):
    quote: str
    total_realized_pnl: Money
    items: list[DailyPnl]


class PerformancePoint(BaseModel):
    date: date
    realized_pnl: Money
    cumulative_pnl: Money


class PerformanceOut(BaseModel):
    quote: str
    realized_pnl: Money
    unrealized_pnl: Money
    total_pnl: Money
    fees_paid: Money
    trades: int
    series: list[PerformancePoint]


class DashboardStats(BaseModel):
    quote: str
    total_equity: Money
    available_balance: Money
    unrealized_pnl: Money
    daily_pnl: Money = Field(description="PnL realized today (UTC)")
    daily_pnl_percent: Money
    active_bots: int
    total_bots: int
    open_orders: int
    accounts_connected: int


class ActivityOut(BaseModel):
    id: int
    type: str
    timestamp: UtcTimestamp
    account_id: str | None
    bot_id: str | None
    data: dict[str, Any]


class ActivityQuery(PageQuery):
    pass


ActivityPage = Page[ActivityOut]
