"""Positions from fills: a FIFO book per (account, symbol), valued at the latest prices
and rounded to the market's precision (prices and quote amounts to its tick)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, localcontext
from typing import Any

from trading.cost_basis import CostBasis, Execution
from trading.markets import Market, Side
from trading.money import MONEY_CONTEXT

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def books(fills: Iterable[Any]) -> dict[tuple[str, str], CostBasis]:
    """(account id, symbol) -> its FIFO book, from fill rows oldest first."""
    result: dict[tuple[str, str], CostBasis] = {}
    for fill in fills:
        key = (fill.account_id, fill.symbol)
        book = result.get(key)
        if book is None:
            base, _, quote = fill.symbol.partition("/")
            book = result[key] = CostBasis(base, quote.split(":")[0])
        book.book(Execution(Side(fill.side), fill.price, fill.quantity, fill.fee, fill.fee_currency))
    return result


def to_tick(value: Decimal | None, market: Market | None) -> Decimal | None:
    """`value` rounded (half even) to the market's tick; exact when the market is unknown."""
    if value is None or market is None:
        return value
    exponent = min(int(market.tick_size.normalize().as_tuple().exponent), 0)
    with localcontext(MONEY_CONTEXT):
        return value.quantize(Decimal(1).scaleb(exponent))


def position(account_id: str, symbol: str, book: CostBasis, market: Market | None, price: Decimal | None) -> dict[str, Any]:
    """One position's fields (`PositionOut`)."""
    quantity = book.quantity
    cost = book.cost
    notional = unrealized = return_pct = None
    with localcontext(MONEY_CONTEXT):
        if price is not None:
            notional = quantity * price
            unrealized = notional - cost
            return_pct = (unrealized / cost * HUNDRED).quantize(Decimal("0.01")) if cost > 0 else None
    return {
        "account_id": account_id,
        "symbol": symbol,
        "base": book.base,
        "quote": book.quote,
        "quantity": quantity,
        "entry_price": to_tick(book.average_cost, market) if quantity > 0 else ZERO,
        "cost": to_tick(cost, market),
        "current_price": price,
        "notional_value": to_tick(notional, market),
        "unrealized_pnl": to_tick(unrealized, market),
        "realized_pnl": to_tick(book.realized_pnl, market),
        "return_pct": return_pct,
    }


def market_lookup(markets: Mapping[str, Mapping[str, Market]], account_id: str, symbol: str) -> Market | None:
    return markets.get(account_id, {}).get(symbol)


def summary(positions: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals per quote currency."""
    by_quote: dict[str, dict[str, Decimal]] = {}
    with localcontext(MONEY_CONTEXT):
        for item in positions:
            totals = by_quote.setdefault(item["quote"], {
                "cost": ZERO, "notional_value": ZERO, "unrealized_pnl": ZERO, "realized_pnl": ZERO,
            })
            for name in totals:
                if item[name] is not None:
                    totals[name] += item[name]
    return {"total_positions": len(positions), "by_quote": by_quote}
