"""The exact profit of one grid cycle (GRID.md "Money") and the simple annualized return.

A cycle is a buy of q at b = p_i followed by a sell at s = p_{i+1}, with fee rate f. The
bot books what the fills report; these formulas are what those bookings must add up to.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

from trading.money import MONEY_CONTEXT, quantize_down


def cycle_profit_fee_in_quote(q: Decimal, b: Decimal, s: Decimal, f: Decimal) -> Decimal:
    """Quote profit when both fees are paid in quote: q s (1 - f) - q b (1 + f)."""
    with localcontext(MONEY_CONTEXT):
        return q * s * (1 - f) - q * b * (1 + f)


def cycle_profit_fee_in_received(
    q: Decimal, b: Decimal, s: Decimal, f: Decimal, step: Decimal
) -> Decimal:
    """Quote profit when each fee is paid in the asset received (Binance's default).

    The buy of q yields q(1 - f) base; the sell sells q' = q(1 - f) rounded down to the
    step and yields q' s (1 - f) quote: profit = q' s (1 - f) - q b. The base left over
    below one step stays with the bot and is not part of the cycle.
    """
    with localcontext(MONEY_CONTEXT):
        sold = quantize_down(q * (1 - f), step)
        return sold * s * (1 - f) - q * b


def annualized_return(profit_percent: Decimal, running_days: Decimal) -> Decimal:
    """profit_percent x 365 / running_days, simple (not compounded), as exchanges show it."""
    if running_days <= 0:
        raise ValueError(f"running_days must be positive, got {running_days}")
    with localcontext(MONEY_CONTEXT):
        return profit_percent * 365 / running_days
