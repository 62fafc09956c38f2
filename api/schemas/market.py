"""Exchanges and market data on the wire. Market-data arrays carry epoch milliseconds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import Model, Money

Interval = Literal["1m", "5m", "15m", "1h", "4h", "1d"]


class ExchangeOut(BaseModel):
    id: str
    name: str
    has: dict[str, bool | str | None] = Field(description="ccxt's capabilities (paper: its own)")


class ExchangeList(BaseModel):
    items: list[ExchangeOut]
    total: int


class MarketOut(BaseModel):
    symbol: str
    base: str
    quote: str
    tick_size: Money
    step_size: Money
    min_amount: Money
    min_notional: Money


class MarketList(BaseModel):
    exchange: str
    items: list[MarketOut]
    total: int


class TickerQuery(Model):
    exchange: str | None = Field(None, description="accepted for compatibility: prices come from the daemon's feeds")


class TickersQuery(TickerQuery):
    symbols: str | None = Field(None, description="comma separated; every symbol with a price when absent")


class TickerOut(BaseModel):
    symbol: str
    last: Money
    bid: Money | None
    ask: Money | None
    change_24h: Money | None
    volume_24h: Money | None
    high_24h: Money | None
    low_24h: Money | None
    timestamp: int | None = Field(description="epoch milliseconds of the price")
    feed: str


class TickerList(BaseModel):
    items: list[TickerOut]
    total: int


class OrderBookQuery(Model):
    exchange: str | None = Field(None, description="the exchange whose feed of the symbol to ask; any feed of it when absent")
    depth: int = Field(20, ge=1, le=1000, description="price levels a side, best first")


class OrderBookOut(BaseModel):
    symbol: str
    exchange: str
    feed: str = Field(description="the feed whose exchange client fetched the book")
    bids: list[tuple[Money, Money]] = Field(description="[price, amount], best (highest) first")
    asks: list[tuple[Money, Money]] = Field(description="[price, amount], best (lowest) first")
    timestamp: int = Field(description="epoch milliseconds: the exchange's time of the book, else when it was received")


class KlineQuery(Model):
    interval: Interval = "1h"
    limit: int = Field(500, ge=1, le=1000)


class KlinesOut(BaseModel):
    symbol: str
    interval: Interval
    data: list[tuple[int, Money, Money, Money, Money, Money]] = Field(description="[t, o, h, l, c, v], t in epoch ms, oldest first")


class MultiKlineQuery(Model):
    symbol: str
    timeframes: str = Field("1h", description="comma separated intervals: 1m,5m,15m,1h,4h,1d")
    limit: int = Field(500, ge=1, le=1000)


class MultiKlinesOut(BaseModel):
    symbol: str
    data: dict[str, list[tuple[int, Money, Money, Money, Money, Money]]]
