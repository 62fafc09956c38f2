"""Positions: what each account holds of each symbol, from its fills (FIFO), valued at the
feeds' latest prices; and closing one with a market sell through the risk checks."""

from __future__ import annotations

from typing import Any

from api.endpoint import endpoint
from api.errors import ApiError
from api.holdings import books, market_lookup, position, summary
from api.order_placement import market_of, place_order
from api.orders import order_out
from api.prices import latest_prices, path_symbol
from api.schemas.orders import OrderOut
from api.schemas.positions import (
    ClosePositionQuery,
    PositionList,
    PositionPage,
    PositionQuery,
    PositionSummary,
    PositionSymbolQuery,
)
from api.scope import ScopedHandler
from storage import trading_queries as queries
from trading.events import MARKET
from trading.markets import Side

TAGS = ("positions",)


async def open_positions(handler: ScopedHandler, account_id: str | None = None, symbol: str | None = None) -> list[dict[str, Any]]:
    """The visible positions with something held, sorted by account and symbol."""
    context = handler.context
    fills = await handler.in_executor(
        queries.all_fills, context.engine, handler.owner, queries.FillFilter(account_id=account_id, symbol=symbol),
    )
    prices = await latest_prices(context.actors)
    result = []
    for (account, sym), book in sorted(books(fills).items()):
        if book.quantity > 0:
            quote = prices.get(sym)
            result.append(position(account, sym, book, market_lookup(context.markets, account, sym), quote.price if quote else None))
    return result


class PositionsHandler(ScopedHandler):
    @endpoint("List positions", query=PositionQuery, response=PositionPage, tags=TAGS)
    async def get(self) -> None:
        """Holdings per account and symbol with FIFO entry price, latest price, PnL; plus
        totals per quote currency over every position (not only this page)."""
        query = self.parse_query(PositionQuery)
        items = await open_positions(self, query.account_id)
        self.write_model(PositionPage(
            items=items[query.offset:query.offset + query.limit], total=len(items),
            limit=query.limit, offset=query.offset, summary=summary(items),
        ))


class PositionSummaryHandler(ScopedHandler):
    @endpoint("Totals of the positions", query=PositionSymbolQuery, response=PositionSummary, tags=TAGS)
    async def get(self) -> None:
        query = self.parse_query(PositionSymbolQuery)
        self.write_model(PositionSummary(**summary(await open_positions(self, query.account_id))))


class PositionHandler(ScopedHandler):
    @endpoint("Positions in one symbol", query=PositionSymbolQuery, response=PositionList, errors=("POSITION_NOT_FOUND",), tags=TAGS)
    async def get(self, symbol: str) -> None:
        """`BTC-USDT` or `BTC/USDT`; one item per account holding it."""
        symbol = path_symbol(symbol)
        query = self.parse_query(PositionSymbolQuery)
        items = await open_positions(self, query.account_id, symbol)
        if not items:
            raise ApiError(404, "POSITION_NOT_FOUND", f"no position in {symbol}")
        self.write_model(PositionList(symbol=symbol, items=items))


class ClosePositionHandler(ScopedHandler):
    @endpoint(
        "Close a position at market", query=ClosePositionQuery, response=OrderOut, status=201, tags=TAGS,
        errors=("POSITION_NOT_FOUND", "RISK_LIMIT_BREACHED", "INSUFFICIENT_BALANCE", "BELOW_MIN_NOTIONAL", "ACTOR_TIMEOUT"),
    )
    async def post(self, symbol: str) -> None:
        """A market sell of the held quantity (rounded down to the market's step) on
        `account_id`, through the risk checks; answers with the filled order."""
        symbol = path_symbol(symbol)
        query = self.parse_query(ClosePositionQuery)
        items = await open_positions(self, query.account_id, symbol)
        if not items:
            raise ApiError(404, "POSITION_NOT_FOUND", f"account {query.account_id} holds no {symbol}")
        market = market_of(self, query.account_id, symbol)
        quantity = market.amount_to_step(items[0]["quantity"])
        if quantity <= 0 or quantity < market.min_amount:
            raise ApiError(422, "BELOW_MIN_NOTIONAL", f"{items[0]['quantity']} {market.base} is below what {symbol} lets one sell")
        row = await place_order(self, self.principal.user_id, query.account_id, symbol, Side.SELL, MARKET, quantity, None)
        self.write_model(order_out(row), status=201)
