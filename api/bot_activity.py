"""What a bot did: `/bots/{id}/performance`, `/grid-levels`, `/trades`, `/orders`, `/events`.

Reads from the database in the executor; performance is live from the bot's actor when
one runs it. Trades carry each cycle's profit on its closing sell, from the bot's journal
folded through its strategy (`api.bot_replay`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from api.bot_support import BotHandler, Rounding
from api.endpoint import endpoint
from api.schemas.bots import (
    BotEventOut,
    BotEventPage,
    BotOrderQuery,
    BotPerformance,
    BotTradeOut,
    BotTradePage,
    BotTradeQuery,
    GridLevelOut,
    GridLevelQuery,
    GridLevels,
)
from api.schemas.common import Page, PageQuery
from api.schemas.orders import OrderOut
from storage import bot_queries
from storage.queries import OPEN_STATUSES
from trading.clock import ns_to_datetime
from trading.orders import API_STATUS, OrderStatus

TAGS = ("bots",)
QUOTE_FIELDS = (
    "total_profit", "grid_profit", "floating_pnl", "avg_profit_per_cycle", "fees_paid", "investment_amount",
    "current_value", "daily_avg_profit",
)
PERCENT_FIELDS = ("profit_percent", "annualized_return", "max_drawdown")
COUNT_FIELDS = ("total_trades", "buy_trades", "sell_trades", "completed_cycles")

# API.md's order statuses back to the internal ones they stand for (`API_STATUS` is the
# one mapping forward).
INTERNAL_ORDER_STATUSES: dict[str, list[str]] = {}
for _internal, _api in API_STATUS.items():
    INTERNAL_ORDER_STATUSES.setdefault(_api, []).append(_internal.value)


class BotPerformanceHandler(BotHandler):
    @endpoint("A bot's performance", response=BotPerformance, errors=("BOT_NOT_FOUND",), tags=TAGS)
    async def get(self, bot_id: str) -> None:
        """GRID.md's figures: total = grid profit + floating PnL; live when the bot runs."""
        row = await self.find_bot(bot_id)
        figures = await self.figures(row)
        rounding = Rounding(self.market_of(row))
        perf = figures.performance
        fields: dict[str, Any] = {name: rounding.quote(perf[name]) for name in QUOTE_FIELDS}
        fields.update({name: rounding.percent(perf[name]) for name in PERCENT_FIELDS})
        fields.update({name: perf[name] for name in COUNT_FIELDS})
        self.write_model(BotPerformance(
            **fields, running_days=rounding.days(perf["running_days"]),
            current_price=rounding.price(figures.price), live=figures.live,
        ))


class BotGridLevelsHandler(BotHandler):
    @endpoint("The grid levels of a bot's current run", query=GridLevelQuery, response=GridLevels,
              errors=("BOT_NOT_FOUND",), tags=TAGS)
    async def get(self, bot_id: str) -> None:
        """Each level: `pending` with the order resting there, else `filled` when an order
        of this run filled there last, else `available`. Empty before the first run."""
        query = self.parse_query(GridLevelQuery)
        row = await self.find_bot(bot_id)
        replayed = await self.replay(row)
        run = replayed.strategy.run if replayed is not None else None
        if replayed is None or run is None:
            self.write_model(GridLevels([]))
            return
        resting: dict[int, tuple[str, str]] = {}
        for interval in replayed.strategy.interval_states():
            if interval.client_order_id is not None:
                level = interval.index + 1 if interval.holds_base else interval.index
                resting[level] = ("sell" if interval.holds_base else "buy", interval.client_order_id)
        since = ns_to_datetime(run.ts_event)
        fills, _ = await self.in_executor(lambda: bot_queries.bot_fills(self.engine, row.id, start=since))
        open_orders, _ = await self.in_executor(lambda: bot_queries.bot_orders(
            self.engine, row.id, statuses=OPEN_STATUSES, limit=10_000,
        ))
        order_ids = {order.client_order_id: order.id for order in open_orders}
        filled: dict[int, tuple[str, datetime]] = {}
        for fill in reversed(fills):  # oldest first: the latest fill of a level wins
            if fill.grid_index is not None:
                level = fill.grid_index if fill.side == "buy" else fill.grid_index + 1
                filled[level] = (fill.side, fill.ts)
        levels = []
        for index, price in enumerate(run.levels):
            if index in resting:
                side, client_order_id = resting[index]
                level = GridLevelOut(index=index, price=price, side=side, status="pending",
                                     order_id=order_ids.get(client_order_id), filled_at=None)
            elif index in filled:
                side, when = filled[index]
                level = GridLevelOut(index=index, price=price, side=side, status="filled", order_id=None, filled_at=when)
            else:
                level = GridLevelOut(index=index, price=price, side=None, status="available", order_id=None, filled_at=None)
            if query.status is None or level.status == query.status:
                levels.append(level)
        self.write_model(GridLevels(levels))


class BotTradesHandler(BotHandler):
    @endpoint("A bot's fills, newest first", query=BotTradeQuery, response=BotTradePage,
              errors=("BOT_NOT_FOUND",), tags=TAGS)
    async def get(self, bot_id: str) -> None:
        """`profit` is set on the fill that completed a grid cycle (its closing sell)."""
        query = self.parse_query(BotTradeQuery)
        row = await self.find_bot(bot_id)
        fills, total = await self.in_executor(lambda: bot_queries.bot_fills(
            self.engine, row.id, start=query.start, end=query.end, limit=query.limit, offset=query.offset,
        ))
        replayed = await self.replay(row)
        profits = replayed.profits if replayed is not None else {}
        rounding = Rounding(self.market_of(row))
        # A cycle completes on its sell's last fill: the profit goes there, once.
        last_fill_of: dict[str, str] = {}
        if profits:
            every, _ = await self.in_executor(lambda: bot_queries.bot_fills(self.engine, row.id))
            for fill in every:  # newest first: the first seen is the last fill
                last_fill_of.setdefault(fill.client_order_id, fill.id)
        items = [
            BotTradeOut(
                id=fill.id, trade_id=fill.trade_id, order_id=fill.order_id, client_order_id=fill.client_order_id,
                bot_id=row.id, symbol=fill.symbol, side=fill.side, price=fill.price, quantity=fill.quantity,
                fee=fill.fee, fee_currency=fill.fee_currency, is_maker=fill.is_maker, grid_index=fill.grid_index,
                profit=(
                    rounding.quote(profits[fill.client_order_id])
                    if fill.client_order_id in profits and last_fill_of.get(fill.client_order_id) == fill.id
                    else None
                ),
                timestamp=fill.ts,
            )
            for fill in fills
        ]
        self.write_model(BotTradePage(items=items, total=total, limit=query.limit, offset=query.offset))


class BotOrdersHandler(BotHandler):
    @endpoint("A bot's orders, newest first", query=BotOrderQuery, response=Page[OrderOut],
              errors=("BOT_NOT_FOUND",), tags=TAGS)
    async def get(self, bot_id: str) -> None:
        query = self.parse_query(BotOrderQuery)
        row = await self.find_bot(bot_id)
        statuses = INTERNAL_ORDER_STATUSES[query.status] if query.status is not None else None
        orders, total = await self.in_executor(lambda: bot_queries.bot_orders(
            self.engine, row.id, statuses=statuses, limit=query.limit, offset=query.offset,
        ))
        items = [
            OrderOut(
                id=order.id, client_order_id=order.client_order_id, exchange_order_id=order.exchange_order_id,
                account_id=order.account_id, bot_id=order.bot_id, symbol=order.symbol, side=order.side,
                order_type=order.order_type, quantity=order.quantity, filled_quantity=order.filled_quantity,
                price=order.price, average_fill_price=order.average_fill_price,
                status=API_STATUS[OrderStatus(order.status)], fee=order.fee, fee_currency=order.fee_currency,
                created_at=order.created_at, updated_at=order.updated_at,
            )
            for order in orders
        ]
        self.write_model(Page[OrderOut](items=items, total=total, limit=query.limit, offset=query.offset))


class BotEventsHandler(BotHandler):
    @endpoint("A bot's journal: its decisions and activity, newest first", query=PageQuery,
              response=BotEventPage, errors=("BOT_NOT_FOUND",), tags=TAGS)
    async def get(self, bot_id: str) -> None:
        query = self.parse_query(PageQuery)
        row = await self.find_bot(bot_id)
        events, total = await self.in_executor(lambda: bot_queries.bot_events(
            self.engine, row.id, limit=query.limit, offset=query.offset,
        ))
        items = [
            BotEventOut(
                id=event.id, type=event.event_type, timestamp=ns_to_datetime(event.ts_event),
                correlation_id=event.correlation_id, data=json.loads(event.payload),
            )
            for event in events
        ]
        self.write_model(BotEventPage(items=items, total=total, limit=query.limit, offset=query.offset))
