"""What a fill does to money: the asset deltas of one execution, a bot's own holdings, and
the performance report made of them.

The paper venue moves an account's balances with `fill_deltas` and a strategy moves its
bot's holdings with the same function, so the two agree to the last digit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

from trading.events import OrderFilled
from trading.grid.profit import annualized_return
from trading.markets import Market, Side
from trading.money import MONEY_CONTEXT

ZERO = Decimal(0)


def fill_deltas(fill: OrderFilled, market: Market) -> dict[str, Decimal]:
    """Asset -> signed change of one fill: the base and quote traded, less the fee in its
    own currency (base, quote, or a third asset such as BNB)."""
    with localcontext(MONEY_CONTEXT):
        notional = fill.price * fill.quantity
        if fill.side is Side.BUY:
            deltas = {market.base: fill.quantity, market.quote: -notional}
        else:
            deltas = {market.base: -fill.quantity, market.quote: notional}
        deltas[fill.fee_currency] = deltas.get(fill.fee_currency, Decimal(0)) - fill.fee
    return deltas


def fee_in_quote(fill: OrderFilled, market: Market) -> Decimal:
    """The fill's fee valued in quote: a base fee at the fill's price. A fee in a third
    asset has no price here and counts as zero."""
    if fill.fee_currency == market.quote:
        return fill.fee
    if fill.fee_currency == market.base:
        with localcontext(MONEY_CONTEXT):
            return fill.fee * fill.price
    return Decimal(0)


@dataclass
class Holdings:
    """The quote and base one bot owns (its investment, less what it spent, plus what it
    received), the fees it paid valued in quote, and its trade counts."""

    quote: Decimal
    base: Decimal = Decimal(0)
    fees_paid: Decimal = Decimal(0)
    buy_trades: int = 0
    sell_trades: int = 0

    def book(self, fill: OrderFilled, market: Market) -> dict[str, Decimal]:
        """Apply one fill; return its deltas (`fill_deltas`)."""
        deltas = fill_deltas(fill, market)
        with localcontext(MONEY_CONTEXT):
            self.quote += deltas.get(market.quote, ZERO)
            self.base += deltas.get(market.base, ZERO)
            self.fees_paid += fee_in_quote(fill, market)
        if fill.side is Side.BUY:
            self.buy_trades += 1
        else:
            self.sell_trades += 1
        return deltas

    def value(self, price: Decimal) -> Decimal:
        """Quote plus base at `price`."""
        with localcontext(MONEY_CONTEXT):
            return self.quote + self.base * price


def performance_report(
    holdings: Holdings,
    investment: Decimal,
    price: Decimal,
    grid_profit: Decimal,
    cycles: int,
    running_days: Decimal,
    max_drawdown: Decimal,
) -> dict[str, Any]:
    """API.md's `/bots/{id}/performance` fields from a bot's money (GRID.md "Money"):
    current value = quote + base x price, total profit = current value - investment,
    floating PnL = total - grid profit; percentages and ratios exact at 50 digits."""
    with localcontext(MONEY_CONTEXT):
        current_value = holdings.value(price)
        total_profit = current_value - investment
        profit_percent = total_profit / investment * 100 if investment > 0 else ZERO
        return {
            "total_profit": total_profit,
            "grid_profit": grid_profit,
            "floating_pnl": total_profit - grid_profit,
            "profit_percent": profit_percent,
            "annualized_return": (
                annualized_return(profit_percent, running_days) if running_days > 0 else ZERO
            ),
            "total_trades": holdings.buy_trades + holdings.sell_trades,
            "buy_trades": holdings.buy_trades,
            "sell_trades": holdings.sell_trades,
            "completed_cycles": cycles,
            "avg_profit_per_cycle": grid_profit / cycles if cycles else ZERO,
            "fees_paid": holdings.fees_paid,
            "investment_amount": investment,
            "current_value": current_value,
            "running_days": running_days,
            "daily_avg_profit": total_profit / running_days if running_days > 0 else ZERO,
            "max_drawdown": max_drawdown,
        }
