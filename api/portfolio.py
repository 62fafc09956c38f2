"""Portfolio and dashboard: balances of every visible account valued in one quote
currency at the feeds' latest prices, daily PnL realized by the fills (FIFO), and the
recent activity of the user's accounts and bots."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from datetime import timezone
from decimal import Decimal, localcontext
from typing import Any

from actors.messages import GetExchangeStatus
from api.endpoint import endpoint
from api.holdings import summary
from api.positions import open_positions
from api.prices import Quote, latest_prices
from api.schemas.common import Page
from api.schemas.positions import (
    ActivityOut,
    ActivityQuery,
    AllocationOut,
    DashboardStats,
    PerformanceOut,
    PnlOut,
    PnlQuery,
    PortfolioOut,
    QuoteQuery,
)
from api.scope import ScopedHandler
from storage import trading_queries as queries
from trading.clock import ns_to_datetime
from trading.cost_basis import CostBasis, Execution
from trading.markets import Side
from trading.money import MONEY_CONTEXT

ZERO = Decimal(0)
CENT = Decimal("0.01")
ACTIVITY_TYPES = (
    "OrderSubmitted", "OrderAccepted", "OrderRejected", "OrderDenied", "OrderCanceled", "OrderFilled",
    "BotStatusChanged", "ManualOrderRequested",
)
"""The events `/dashboard/activity` shows: order and bot events, which carry no secret."""


def _price(asset: str, quote: str, prices: dict[str, Quote]) -> Decimal | None:
    if asset == quote:
        return Decimal(1)
    found = prices.get(f"{asset}/{quote}")
    return found.price if found is not None else None


async def portfolio(handler: ScopedHandler, quote: str) -> dict[str, Any]:
    """`PortfolioOut`'s fields."""
    context = handler.context
    accounts = await handler.in_executor(queries.visible_accounts, context.engine, handler.owner)
    balances = await handler.in_executor(queries.paper_balances, context.engine, handler.owner)
    prices = await latest_prices(context.actors)
    by_account: dict[str, list[Any]] = defaultdict(list)
    for row in balances:
        by_account[row.account_id].append(row)
    unpriced: set[str] = set()
    total = available = ZERO
    out = []
    with localcontext(MONEY_CONTEXT):
        for account in accounts:
            items, account_total = [], ZERO
            for row in by_account.get(account.id, []):
                amount = row.free + row.locked
                price = _price(row.asset, quote, prices)
                value = None if price is None else amount * price
                if value is None:
                    if amount:
                        unpriced.add(row.asset)
                else:
                    account_total += value
                    available += row.free * price
                items.append({"asset": row.asset, "free": row.free, "locked": row.locked, "total": amount, "price": price, "value": value})
            total += account_total
            out.append({"account_id": account.id, "name": account.name, "exchange": account.exchange, "total_value": account_total, "balances": items})
    return {"quote": quote, "total_value": total, "available_balance": available, "unpriced_assets": sorted(unpriced), "accounts": out}


async def daily_realized(handler: ScopedHandler, quote: str) -> dict[Any, dict[str, Any]]:
    """UTC date -> realized PnL, fees, trades and volume of the fills quoted in `quote`."""
    fills = await handler.in_executor(queries.all_fills, handler.context.engine, handler.owner, queries.FillFilter())
    books: dict[tuple[str, str], CostBasis] = {}
    days: dict[Any, dict[str, Any]] = {}
    with localcontext(MONEY_CONTEXT):
        for fill in fills:
            base, _, fill_quote = fill.symbol.partition("/")
            if fill_quote.split(":")[0] != quote:
                continue
            book = books.setdefault((fill.account_id, fill.symbol), CostBasis(base, quote))
            fees_before = book.fees_paid
            realized = book.book(Execution(Side(fill.side), fill.price, fill.quantity, fill.fee, fill.fee_currency))
            day = days.setdefault(fill.ts.astimezone(timezone.utc).date(), {"realized_pnl": ZERO, "fees": ZERO, "trades": 0, "volume": ZERO})
            day["realized_pnl"] += realized
            day["fees"] += book.fees_paid - fees_before
            day["trades"] += 1
            day["volume"] += fill.price * fill.quantity
    for day in days.values():  # exact, without the trailing zeros of 50-digit products
        for name in ("realized_pnl", "fees", "volume"):
            day[name] = day[name].normalize()
    return days


def _cents(value: Decimal) -> Decimal:
    with localcontext(MONEY_CONTEXT):
        return value.quantize(CENT)


class PortfolioHandler(ScopedHandler):
    @endpoint("Balances of all accounts, valued", query=QuoteQuery, response=PortfolioOut, tags=("portfolio",))
    async def get(self) -> None:
        """Assets with no price in `quote` among the feeds are listed in `unpriced_assets`
        and left out of the totals."""
        self.write_model(PortfolioOut(**await portfolio(self, self.parse_query(QuoteQuery).quote)))


class AllocationHandler(ScopedHandler):
    @endpoint("Allocation by asset", query=QuoteQuery, response=AllocationOut, tags=("portfolio",))
    async def get(self) -> None:
        quote = self.parse_query(QuoteQuery).quote
        book = await portfolio(self, quote)
        assets: dict[str, list[Decimal]] = {}
        with localcontext(MONEY_CONTEXT):
            for account in book["accounts"]:
                for item in account["balances"]:
                    if item["value"] is not None:
                        totals = assets.setdefault(item["asset"], [ZERO, ZERO])
                        totals[0] += item["total"]
                        totals[1] += item["value"]
            total = book["total_value"]
            items = [
                {"asset": asset, "total": amount, "value": value, "percent": _cents(value / total * 100) if total else ZERO}
                for asset, (amount, value) in sorted(assets.items(), key=lambda pair: pair[1][1], reverse=True)
            ]
        self.write_model(AllocationOut(quote=quote, total_value=total, items=items, unpriced_assets=book["unpriced_assets"]))


class PnlHandler(ScopedHandler):
    @endpoint("Daily realized PnL", query=PnlQuery, response=PnlOut, tags=("portfolio",))
    async def get(self) -> None:
        """Per UTC day, from the fills quoted in `quote` (FIFO); `start`/`end` inclusive."""
        query = self.parse_query(PnlQuery)
        days = await daily_realized(self, query.quote)
        items = [
            {"date": day, **values} for day, values in sorted(days.items())
            if (query.start is None or day >= query.start) and (query.end is None or day <= query.end)
        ]
        with localcontext(MONEY_CONTEXT):
            total = sum((item["realized_pnl"] for item in items), ZERO)
        self.write_model(PnlOut(quote=query.quote, total_realized_pnl=total, items=items))


class PerformanceHandler(ScopedHandler):
    @endpoint("Realized and unrealized PnL, with a daily series", query=QuoteQuery, response=PerformanceOut, tags=("portfolio",))
    async def get(self) -> None:
        quote = self.parse_query(QuoteQuery).quote
        days = await daily_realized(self, quote)
        positions = summary(await open_positions(self))["by_quote"].get(quote, {})
        series, cumulative, fees, trades = [], ZERO, ZERO, 0
        with localcontext(MONEY_CONTEXT):
            for day, values in sorted(days.items()):
                cumulative += values["realized_pnl"]
                fees += values["fees"]
                trades += values["trades"]
                series.append({"date": day, "realized_pnl": values["realized_pnl"], "cumulative_pnl": cumulative})
            unrealized = positions.get("unrealized_pnl", ZERO)
            total = cumulative + unrealized
        self.write_model(PerformanceOut(
            quote=quote, realized_pnl=cumulative, unrealized_pnl=unrealized, total_pnl=total,
            fees_paid=fees, trades=trades, series=series,
        ))


class DashboardStatsHandler(ScopedHandler):
    @endpoint("Dashboard figures", query=QuoteQuery, response=DashboardStats, tags=("dashboard",))
    async def get(self) -> None:
        """Equity and PnL in `quote`; `daily_pnl` is what today's fills (UTC) realized."""
        quote = self.parse_query(QuoteQuery).quote
        engine = self.context.engine
        book = await portfolio(self, quote)
        days = await daily_realized(self, quote)
        positions = summary(await open_positions(self))["by_quote"].get(quote, {})
        statuses = await self.in_executor(queries.bot_statuses, engine, self.owner)
        counts = await self.in_executor(queries.order_counts, engine, self.owner, queries.OrderFilter(
            statuses=("SUBMITTED", "ACCEPTED", "PENDING_CANCEL", "PARTIALLY_FILLED"),
        ))
        today = ns_to_datetime(self.context.clock.now_ns()).date()
        daily = days.get(today, {}).get("realized_pnl", ZERO)
        equity = book["total_value"]
        with localcontext(MONEY_CONTEXT):
            percent = _cents(daily / equity * 100) if equity else ZERO
        self.write_model(DashboardStats(
            quote=quote, total_equity=equity, available_balance=book["available_balance"],
            unrealized_pnl=positions.get("unrealized_pnl", ZERO), daily_pnl=daily, daily_pnl_percent=percent,
            active_bots=sum(1 for status in statuses if status == "running"), total_bots=len(statuses),
            open_orders=sum(count for _, _, count in counts),
            accounts_connected=await self.connected([account["account_id"] for account in book["accounts"]]),
        ))

    async def connected(self, account_ids: list[str]) -> int:
        """How many of these accounts have an exchange actor that is ready."""
        gateway = self.context.actors
        if gateway is None:
            return 0
        names = [gateway.exchanges[account] for account in account_ids if account in gateway.exchanges]
        answers = await asyncio.gather(
            *(gateway.ask(name, lambda reply: GetExchangeStatus(reply=reply)) for name in names), return_exceptions=True,
        )
        return sum(1 for answer in answers if not isinstance(answer, BaseException) and answer.ready)


class ActivityHandler(ScopedHandler):
    @endpoint("Recent activity of the user's accounts and bots", query=ActivityQuery, response=Page[ActivityOut], tags=("dashboard",))
    async def get(self) -> None:
        """Order and bot events, newest first."""
        query = self.parse_query(ActivityQuery)
        rows, total = await self.in_executor(
            queries.recent_events, self.context.engine, self.owner, ACTIVITY_TYPES, query.limit, query.offset,
        )
        items = [
            ActivityOut(
                id=row.id, type=row.event_type, timestamp=ns_to_datetime(row.ts_event),
                account_id=row.account_id, bot_id=row.bot_id, data=json.loads(row.payload),
            )
            for row in rows
        ]
        self.write_model(Page[ActivityOut](items=items, total=total, limit=query.limit, offset=query.offset))
