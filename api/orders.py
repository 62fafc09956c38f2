"""Orders, trades and cost basis (API.md "Orders, trades, positions").

Reads go to the database in the executor; a manual order or a cancel goes through the
risk actor (`api.order_placement`) and is answered once its outcome is committed. A user
sees the orders and fills of their own accounts and bots; another user's order is 404.
"""

from __future__ import annotations

from typing import Any

from api.endpoint import endpoint
from api.errors import ApiError
from api.holdings import books, market_lookup, to_tick
from api.order_placement import api_status, cancel_order, check_rules, market_of, place_order
from api.prices import path_symbol
from api.schemas.common import Page
from api.schemas.orders import (
    CancelOut,
    CostBasisList,
    CostBasisOut,
    CostBasisQuery,
    OrderCreate,
    OrderFilterQuery,
    OrderListQuery,
    OrderOut,
    OrderStatsOut,
    OrderStatsQuery,
    TradeOut,
    TradeQuery,
)
from api.scope import ScopedHandler
from storage import trading_queries as queries
from trading.events import OrderCanceled
from trading.markets import Side
from trading.orders import API_STATUS

WORKING = ("pending", "open", "partially_filled")
CLOSED = ("filled", "cancelled", "rejected", "expired")
TAGS = ("orders",)


def internal_statuses(api_statuses: tuple[str, ...]) -> list[str]:
    """The internal statuses that show as any of `api_statuses`."""
    return [status.value for status, shown in API_STATUS.items() if shown in api_statuses]


def order_out(row: Any) -> OrderOut:
    return OrderOut(
        id=row.id, client_order_id=row.client_order_id, exchange_order_id=row.exchange_order_id,
        account_id=row.account_id, bot_id=row.bot_id, symbol=row.symbol, side=row.side,
        order_type=row.order_type, quantity=row.quantity, filled_quantity=row.filled_quantity,
        price=row.price, average_fill_price=row.average_fill_price, status=api_status(row.status),
        fee=row.fee, fee_currency=row.fee_currency, created_at=row.created_at, updated_at=row.updated_at,
    )


class _OrderReads(ScopedHandler):
    async def list_page(self, query: OrderFilterQuery, statuses: list[str] | None) -> None:
        where = queries.OrderFilter(
            bot_id=query.bot_id, account_id=query.account_id, symbol=query.symbol, side=query.side, statuses=statuses,
        )
        rows, total = await self.in_executor(queries.list_orders, self.context.engine, self.owner, where, query.limit, query.offset)
        self.write_model(Page[OrderOut](items=[order_out(row) for row in rows], total=total, limit=query.limit, offset=query.offset))


class OrdersHandler(_OrderReads):
    @endpoint("List orders", query=OrderListQuery, response=Page[OrderOut], tags=TAGS)
    async def get(self) -> None:
        """`status=open` (the default) lists the orders still working; `all` every order."""
        query = self.parse_query(OrderListQuery)
        if query.status == "all":
            statuses = None
        elif query.status == "open":
            statuses = internal_statuses(WORKING)
        else:
            statuses = internal_statuses((query.status,))
        await self.list_page(query, statuses)

    @endpoint(
        "Place a manual order", body=OrderCreate, response=OrderOut, status=201, tags=TAGS,
        errors=("ACCOUNT_NOT_FOUND", "RISK_LIMIT_BREACHED", "INSUFFICIENT_BALANCE", "BELOW_MIN_NOTIONAL",
                "EXCHANGE_ERROR", "EXCHANGE_UNAVAILABLE", "ACTOR_TIMEOUT"),
    )
    async def post(self) -> None:
        """Goes through the risk checks; answered once the exchange accepted (a limit
        order) or filled (a market order) it, and that is committed."""
        body = self.parse_body(OrderCreate)
        await self.require_account(body.account_id)
        side = Side(body.side)
        check_rules(market_of(self, body.account_id, body.symbol), side, body.order_type, body.quantity, body.price)
        row = await place_order(
            self, self.principal.user_id, body.account_id, body.symbol, side, body.order_type, body.quantity, body.price,
        )
        self.write_model(order_out(row), status=201)

    async def require_account(self, account_id: str) -> None:
        if not await self.in_executor(queries.account_visible, self.context.engine, self.owner, account_id):
            raise ApiError(404, "ACCOUNT_NOT_FOUND", f"no account {account_id}")


class ActiveOrdersHandler(_OrderReads):
    @endpoint("List the orders still working", query=OrderFilterQuery, response=Page[OrderOut], tags=TAGS)
    async def get(self) -> None:
        await self.list_page(self.parse_query(OrderFilterQuery), internal_statuses(WORKING))


class OrderHistoryHandler(_OrderReads):
    @endpoint("List finished orders", query=OrderFilterQuery, response=Page[OrderOut], tags=TAGS)
    async def get(self) -> None:
        """Filled, cancelled, rejected and expired orders, newest first."""
        await self.list_page(self.parse_query(OrderFilterQuery), internal_statuses(CLOSED))


class OrderStatsHandler(ScopedHandler):
    @endpoint("Count orders by status and side", query=OrderStatsQuery, response=OrderStatsOut, tags=TAGS)
    async def get(self) -> None:
        query = self.parse_query(OrderStatsQuery)
        where = queries.OrderFilter(bot_id=query.bot_id, account_id=query.account_id, symbol=query.symbol, side=query.side)
        counts = await self.in_executor(queries.order_counts, self.context.engine, self.owner, where)
        by_status = dict.fromkeys(sorted(set(API_STATUS.values())), 0)
        by_side = {"buy": 0, "sell": 0}
        for status, side, count in counts:
            by_status[api_status(status)] += count
            by_side[side] += count
        self.write_model(OrderStatsOut(total=sum(by_side.values()), by_status=by_status, by_side=by_side))


class OrderHandler(ScopedHandler):
    async def find(self, order_id: str) -> Any:
        row = await self.in_executor(queries.find_order, self.context.engine, self.owner, order_id)
        if row is None:
            raise ApiError(404, "ORDER_NOT_FOUND", f"no order {order_id}")
        return row

    @endpoint("Get one order", response=OrderOut, errors=("ORDER_NOT_FOUND",), tags=TAGS)
    async def get(self, order_id: str) -> None:
        """By its id or its client order id."""
        self.write_model(order_out(await self.find(order_id)))

    @endpoint("Cancel an order", response=CancelOut, errors=("ORDER_NOT_FOUND", "CONFLICT", "ACTOR_TIMEOUT"), tags=TAGS)
    async def delete(self, order_id: str) -> None:
        """Answered once the exchange has cancelled it (or said it had filled); 409 for an
        order that is not working any more."""
        row = await self.find(order_id)
        if api_status(row.status) not in WORKING:
            raise ApiError(409, "CONFLICT", f"order {row.id} is {api_status(row.status)}, not open")
        outcome = await cancel_order(self, row)
        row = await self.find(row.id)
        message = None if isinstance(outcome, OrderCanceled) else getattr(outcome, "reason", None) or f"the order is {api_status(row.status)}"
        self.write_model(CancelOut(
            success=isinstance(outcome, OrderCanceled), order_id=row.id, status=api_status(row.status), message=message,
        ))


class TradesHandler(ScopedHandler):
    @endpoint("List fills (executions)", query=TradeQuery, response=Page[TradeOut], tags=("trades",))
    async def get(self) -> None:
        query = self.parse_query(TradeQuery)
        where = queries.FillFilter(
            symbol=query.symbol, side=query.side, bot_id=query.bot_id, account_id=query.account_id,
            start=query.start, end=query.end,
        )
        rows, total = await self.in_executor(queries.list_fills, self.context.engine, self.owner, where, query.limit, query.offset)
        self.write_model(Page[TradeOut](items=[trade_out(row) for row in rows], total=total, limit=query.limit, offset=query.offset))


def trade_out(row: Any) -> TradeOut:
    return TradeOut(
        id=row.id, trade_id=row.trade_id, order_id=row.order_id, client_order_id=row.client_order_id,
        account_id=row.account_id, bot_id=row.bot_id, symbol=row.symbol, side=row.side, price=row.price,
        quantity=row.quantity, quote_quantity=row.price * row.quantity, fee=row.fee, fee_currency=row.fee_currency,
        is_maker=row.is_maker, timestamp=row.ts,
    )


class CostBasisHandler(ScopedHandler):
    @endpoint("FIFO cost basis of a symbol", query=CostBasisQuery, response=CostBasisList, tags=("trades",))
    async def get(self, symbol: str) -> None:
        """Per account: open lots, average cost, realized PnL (FIFO over the fills)."""
        symbol = path_symbol(symbol)
        query = self.parse_query(CostBasisQuery)
        fills = await self.in_executor(
            queries.all_fills, self.context.engine, self.owner, queries.FillFilter(symbol=symbol, account_id=query.account_id),
        )
        items = []
        for (account_id, _), book in sorted(books(fills).items()):
            market = market_lookup(self.context.markets, account_id, symbol)
            items.append(CostBasisOut(
                account_id=account_id, symbol=symbol, quantity=book.quantity,
                average_cost=to_tick(book.average_cost, market), cost=to_tick(book.cost, market),
                realized_pnl=to_tick(book.realized_pnl, market), fees_paid=to_tick(book.fees_paid, market),
                bought=book.bought, sold=book.sold, unmatched_sold=book.unmatched_sold, trades=book.trades,
                lots=[{"quantity": lot.quantity, "price": to_tick(lot.price, market), "cost": to_tick(lot.cost, market)} for lot in book.lots],
            ))
        self.write_model(CostBasisList(symbol=symbol, items=items))
