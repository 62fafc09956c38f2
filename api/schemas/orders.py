"""Orders and trades on the wire (API.md "Orders, trades, positions")."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field

from api.schemas.common import Model, Money, PageQuery, UtcTimestamp

ApiOrderStatus = Literal["pending", "open", "partially_filled", "filled", "cancelled", "rejected", "expired"]
SideName = Literal["buy", "sell"]
QueryTime = Annotated[datetime, AfterValidator(lambda value: value if value.tzinfo else value.replace(tzinfo=timezone.utc))]
"""A date or time in a query; without a zone it is UTC."""


class OrderOut(BaseModel):
    id: str
    client_order_id: str
    exchange_order_id: str | None
    account_id: str
    bot_id: str | None
    symbol: str
    side: SideName
    order_type: str
    quantity: Money
    filled_quantity: Money
    price: Money | None
    average_fill_price: Money | None
    status: ApiOrderStatus
    fee: Money
    fee_currency: str | None
    created_at: UtcTimestamp
    updated_at: UtcTimestamp


class OrderFilterQuery(PageQuery):
    bot_id: str | None = None
    account_id: str | None = None
    symbol: str | None = None
    side: SideName | None = None


class OrderListQuery(OrderFilterQuery):
    status: Literal["open", "all", "pending", "partially_filled", "filled", "cancelled", "rejected", "expired"] = Field(
        "open", description="`open` (the default): every order still working (pending, open, partially filled); `all`: every order; else one status",
    )


class OrderStatsOut(BaseModel):
    total: int
    by_status: dict[str, int]
    by_side: dict[str, int]


class OrderCreate(Model):
    """A manual order. Prices and quantities must fit the market's tick and step sizes."""

    account_id: str
    symbol: str
    side: SideName
    order_type: Literal["limit", "market"]
    quantity: Decimal = Field(gt=0)
    price: Decimal | None = Field(None, gt=0, description="required for a limit order, refused for a market order")
    time_in_force: Literal["GTC"] | None = Field(None, description="good till cancelled; the only kind the daemon places")


class CancelOut(BaseModel):
    success: bool
    order_id: str
    status: ApiOrderStatus
    message: str | None = None


class TradeQuery(PageQuery):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: QueryTime | None = Field(None, validation_alias=AliasChoices("from", "start"), description="ISO date or time, inclusive (`from` or `start`)")
    end: QueryTime | None = Field(None, validation_alias=AliasChoices("to", "end"), description="ISO date or time, exclusive (`to` or `end`)")
    symbol: str | None = None
    side: SideName | None = None
    bot_id: str | None = None
    account_id: str | None = None


class TradeOut(BaseModel):
    id: str
    trade_id: str
    order_id: str
    client_order_id: str
    account_id: str
    bot_id: str | None
    symbol: str
    side: SideName
    price: Money
    quantity: Money
    quote_quantity: Money
    fee: Money
    fee_currency: str | None
    is_maker: bool | None
    timestamp: UtcTimestamp


class LotOut(BaseModel):
    quantity: Money
    price: Money
    cost: Money


class CostBasisOut(BaseModel):
    account_id: str
    symbol: str
    quantity: Money
    average_cost: Money | None
    cost: Money
    realized_pnl: Money
    fees_paid: Money
    bought: Money
    sold: Money
    unmatched_sold: Money = Field(description="base sold beyond the bought lots (no known cost, no realized PnL)")
    trades: int
    lots: list[LotOut]


class CostBasisQuery(Model):
    account_id: str | None = None


class CostBasisList(BaseModel):
    symbol: str
    items: list[CostBasisOut]


class OrderStatsQuery(Model):
    bot_id: str | None = None
    account_id: str | None = None
    symbol: str | None = None
    side: SideName | None = None
