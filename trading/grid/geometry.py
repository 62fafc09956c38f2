"""The grid of GRID.md: level prices, per-interval quantities, and which orders rest where.

Interval i lies between levels p_i and p_{i+1} and trades a fixed base quantity q_i: it
holds quote (a buy of q_i at p_i) or base (a sell at p_{i+1}), never both. Levels are
computed at 50 digits (no floats anywhere) and quantized to the tick once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from typing import Literal, NoReturn

from trading.markets import Market, OrderRuleViolation, Side
from trading.money import MONEY_CONTEXT, divide_down

Spacing = Literal["arithmetic", "geometric"]

_SNAP_CONTEXT = Context(prec=40)
"""Levels are rounded to 40 digits before the floor to the tick, so a level that is exactly
on a tick (4 in 1..64 with six geometric intervals) is not floored one tick down because
exp/ln at 50 digits gave 3.99...9."""


class GridConfigError(Exception):
    """A grid that cannot be traded; `code` is the API error code (API.md, GRID.md)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class GridParams:
    """A grid as the user gives it: exactly one of `grid_count` and `price_change_percent`,
    and exactly one of `order_amount` (quote per interval) and `total_investment`.

    `spacing` defaults to geometric with `price_change_percent`, else arithmetic;
    `price_change_percent` with arithmetic spacing is refused (seed 001's bug).
    """

    lower_price: Decimal
    upper_price: Decimal
    grid_count: int | None = None
    price_change_percent: Decimal | None = None
    spacing: Spacing | None = None
    order_amount: Decimal | None = None
    total_investment: Decimal | None = None

    def __post_init__(self) -> None:
        if (self.grid_count is None) == (self.price_change_percent is None):
            _invalid("give exactly one of grid_count and price_change_percent")
        if (self.order_amount is None) == (self.total_investment is None):
            _invalid("give exactly one of order_amount and total_investment")
        if self.spacing not in (None, "arithmetic", "geometric"):
            _invalid(f"spacing must be arithmetic or geometric, not {self.spacing!r}")
        if self.grid_count is not None:
            if isinstance(self.grid_count, bool) or not isinstance(self.grid_count, int):
                _invalid("grid_count must be an integer")
            if self.grid_count < 2:
                raise GridConfigError("INVALID_PRICE_RANGE", "a grid needs at least 2 intervals")
        if self.price_change_percent is not None:
            if self.price_change_percent <= 0:
                _invalid("price_change_percent must be positive")
            if self.spacing == "arithmetic":
                _invalid("price_change_percent sets a geometric grid, not an arithmetic one")
        budget = self.order_amount if self.order_amount is not None else self.total_investment
        if budget is not None and budget <= 0:
            _invalid("order_amount and total_investment must be positive")
        if not 0 < self.lower_price < self.upper_price:
            raise GridConfigError(
                "INVALID_PRICE_RANGE",
                f"need 0 < lower_price < upper_price, got {self.lower_price} and "
                f"{self.upper_price}",
            )

    @property
    def resolved_spacing(self) -> Spacing:
        if self.spacing is not None:
            return self.spacing
        return "geometric" if self.price_change_percent is not None else "arithmetic"


@dataclass(frozen=True)
class GridPlan:
    """A grid fitted to a market: N+1 levels on the tick and N quantities on the step.

    `order_amount` is the quote committed per interval (total_investment / N when the
    investment was given); quantity q_i is order_amount / p_i rounded down to the step.
    """

    market: Market
    levels: tuple[Decimal, ...]
    quantities: tuple[Decimal, ...]
    order_amount: Decimal
    spacing: Spacing

    @property
    def grid_count(self) -> int:
        return len(self.quantities)


@dataclass(frozen=True)
class PlannedOrder:
    """A limit order the grid wants resting for one interval."""

    interval: int
    side: Side
    price: Decimal
    amount: Decimal


def build_grid(params: GridParams, market: Market) -> GridPlan:
    """The plan for `params` on `market`, or GridConfigError.

    Codes: INVALID_PRICE_RANGE (fewer than 2 intervals, or two levels on one tick),
    SPACING_BELOW_FEES (an interval whose round trip loses to the maker fee), and
    BELOW_MIN_NOTIONAL (an order, or the after-fee sell, below the market's minimums).
    """
    count = _interval_count(params)
    if count < 2:
        raise GridConfigError(
            "INVALID_PRICE_RANGE",
            f"{params.price_change_percent}% steps fit {count} interval(s) between "
            f"{params.lower_price} and {params.upper_price}; a grid needs at least 2",
        )
    _check_density(count, params, market)
    levels = tuple(
        market.level_price(_SNAP_CONTEXT.plus(price)) for price in _raw_levels(params, count)
    )
    _check_levels(levels, market)
    _check_spacing(levels, market.maker_fee)
    # q_i = I / (N p_i) straight from the investment, not from a rounded I / N.
    budget, shares = (
        (params.order_amount, 1)
        if params.order_amount is not None
        else (params.total_investment, count)
    )
    with localcontext(MONEY_CONTEXT):
        order_amount = budget / shares
        quantities = tuple(divide_down(budget, shares * p, market.step_size) for p in levels[:-1])
    _check_minimums(levels, quantities, market)
    return GridPlan(market, levels, quantities, order_amount, params.resolved_spacing)


def initial_orders(plan: GridPlan, price: Decimal) -> list[PlannedOrder]:
    """The N orders to rest at start with current price `price`, one per interval.

    Intervals below the price buy at their lower level, those above sell at their upper
    level. The interval containing the price holds base (sells) when the price is nearer
    its lower level and quote (buys) when nearer its upper level, so the level nearest the
    price is the one without an order. On an exact tie it holds quote: no base is bought at
    market for an interval that could go either way.
    """
    return [_order_for(plan, i, _holds_base(plan, i, price)) for i in range(plan.grid_count)]


def initial_base_to_buy(plan: GridPlan, price: Decimal) -> Decimal:
    """Base the initial market buy must bring: the q_i of every interval that starts on a sell."""
    with localcontext(MONEY_CONTEXT):
        return sum(
            (q for i, q in enumerate(plan.quantities) if _holds_base(plan, i, price)),
            Decimal(0),
        )


def counter_order(
    plan: GridPlan, interval: int, filled_side: Side, filled_amount_net: Decimal
) -> PlannedOrder:
    """The order that follows a fill of `interval`'s order.

    After a buy, sell the base it brought (net of a base-currency fee, rounded down to the
    step) at the upper level; after a sell, buy q_i at the lower level again.
    """
    if not 0 <= interval < plan.grid_count:
        raise ValueError(f"no interval {interval} in a grid of {plan.grid_count}")
    if filled_side is Side.BUY:
        amount = plan.market.amount_to_step(filled_amount_net)
        return PlannedOrder(interval, Side.SELL, plan.levels[interval + 1], amount)
    return _order_for(plan, interval, holds_base=False)


def _invalid(message: str) -> NoReturn:
    raise GridConfigError("VALIDATION_ERROR", message)


def _interval_count(params: GridParams) -> int:
    """N as given, or the most steps of 1+g/100 from L that stay at or under U."""
    if params.grid_count is not None:
        return params.grid_count
    assert params.price_change_percent is not None
    lower, upper = params.lower_price, params.upper_price
    with localcontext(MONEY_CONTEXT):
        ratio = 1 + params.price_change_percent / 100
        count = int((upper / lower).ln() / ratio.ln())
        # ln at 50 digits can land a hair off an exact power; the powers themselves decide.
        while lower * ratio ** (count + 1) <= upper:
            count += 1
        while count > 0 and lower * ratio**count > upper:
            count -= 1
    return count


def _raw_levels(params: GridParams, count: int) -> list[Decimal]:
    """The N+1 level prices before quantizing, at 50 digits."""
    lower, upper = params.lower_price, params.upper_price
    with localcontext(MONEY_CONTEXT):
        if params.resolved_spacing == "arithmetic":
            return [lower + i * (upper - lower) / count for i in range(count + 1)]
        if params.price_change_percent is not None:
            ratio = 1 + params.price_change_percent / 100
            return [lower * ratio**i for i in range(count + 1)]
        span = upper / lower
        inner = [lower * span ** (Decimal(i) / count) for i in range(1, count)]
        return [lower, *inner, upper]


def _check_density(count: int, params: GridParams, market: Market) -> None:
    """Refuse more intervals than ticks in the range before computing any level."""
    low, high = market.level_price(params.lower_price), market.level_price(params.upper_price)
    with localcontext(MONEY_CONTEXT):
        ticks = (high - low) / market.tick_size
    if count > ticks:
        raise GridConfigError(
            "INVALID_PRICE_RANGE",
            f"{count} intervals do not fit in {ticks} ticks of {market.tick_size} "
            f"between {params.lower_price} and {params.upper_price}",
        )


def _check_levels(levels: tuple[Decimal, ...], market: Market) -> None:
    if levels[0] <= 0:
        raise GridConfigError(
            "INVALID_PRICE_RANGE", f"the lower price is below one tick ({market.tick_size})"
        )
    for i in range(len(levels) - 1):
        if levels[i + 1] <= levels[i]:
            raise GridConfigError(
                "INVALID_PRICE_RANGE",
                f"levels {i} and {i + 1} fall on the same tick {levels[i]} "
                f"(tick size {market.tick_size}): too many levels for the range",
            )


def _check_spacing(levels: tuple[Decimal, ...], fee: Decimal) -> None:
    """Refuse an interval where (p_{i+1}/p_i)(1-f) <= 1+f: each cycle would lose money."""
    with localcontext(MONEY_CONTEXT):
        for i in range(len(levels) - 1):
            if levels[i + 1] * (1 - fee) <= levels[i] * (1 + fee):
                raise GridConfigError(
                    "SPACING_BELOW_FEES",
                    f"interval {i} ({levels[i]} to {levels[i + 1]}) does not beat a "
                    f"round-trip fee of 2 x {fee}",
                )


def _check_minimums(
    levels: tuple[Decimal, ...], quantities: tuple[Decimal, ...], market: Market
) -> None:
    """Each interval's buy and the sell that follows it must pass the market's minimums.

    The sell of q_i sits at a higher price than the buy, so only a smaller, after-fee sell
    can fail where the buy passed: with fees in the received asset, the buy brings
    q_i(1-f) base, rounded down to the step. It is checked with the larger of the two fee
    rates, since a grid buy can fill as taker when the price gaps through it.
    """
    worst_fee = max(market.maker_fee, market.taker_fee)
    for i, quantity in enumerate(quantities):
        try:
            market.check_order(Side.BUY, levels[i], quantity)
            if market.fee_in_received_asset:
                with localcontext(MONEY_CONTEXT):
                    net = market.amount_to_step(quantity * (1 - worst_fee))
                market.check_order(Side.SELL, levels[i + 1], net)
        except OrderRuleViolation as violation:
            raise GridConfigError(
                "BELOW_MIN_NOTIONAL", f"interval {i}: {violation.message}"
            ) from violation


def _holds_base(plan: GridPlan, interval: int, price: Decimal) -> bool:
    """Whether `interval` starts holding base (a sell) at current price `price`."""
    low, high = plan.levels[interval], plan.levels[interval + 1]
    if high <= price:
        return False
    if low > price:
        return True
    return price - low < high - price


def _order_for(plan: GridPlan, interval: int, holds_base: bool) -> PlannedOrder:
    quantity = plan.quantities[interval]
    if holds_base:
        return PlannedOrder(interval, Side.SELL, plan.levels[interval + 1], quantity)
    return PlannedOrder(interval, Side.BUY, plan.levels[interval], quantity)
