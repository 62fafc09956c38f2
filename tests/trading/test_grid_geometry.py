"""The grid of GRID.md: levels, quantities, errors, start orders and counter-orders.

The property tests check build_grid against an exact rational model written with
`fractions.Fraction`: levels are the exact GRID.md prices floored to the tick, quantities
the exact A / p_i floored to the step, and every error code is predicted by the model.
"""

import math
from decimal import Context, Decimal
from fractions import Fraction

import pytest
from hypothesis import event, given, reject, settings
from hypothesis import strategies as st

from trading.grid.geometry import (
    GridConfigError,
    GridParams,
    GridPlan,
    PlannedOrder,
    build_grid,
    counter_order,
    initial_base_to_buy,
    initial_orders,
)
from trading.markets import Market, Side
from trading.money import is_multiple

D = Decimal
F = Fraction


def market(**changes) -> Market:
    fields = dict(
        symbol="X/Y",
        base="X",
        quote="Y",
        tick_size=D("0.01"),
        step_size=D("0.001"),
        min_amount=D(0),
        min_notional=D(0),
        maker_fee=D(0),
        taker_fee=D(0),
        fee_in_received_asset=True,
    )
    fields.update(changes)
    return Market(**fields)


def error_code(params: GridParams, on: Market) -> str:
    with pytest.raises(GridConfigError) as caught:
        build_grid(params, on)
    return caught.value.code


# -- examples ---------------------------------------------------------------------------


def test_grid_md_example_gives_16_grids_not_24():
    upbit = market(symbol="BTC/KRW", tick_size=D(1000), step_size=D("0.00000001"))
    params = GridParams(
        D(50_000_000), D(70_000_000), price_change_percent=D(2), order_amount=D(10_000)
    )
    plan = build_grid(params, upbit)
    assert plan.grid_count == 16
    assert plan.spacing == "geometric"
    assert plan.levels[:3] == (D(50_000_000), D(51_000_000), D(52_020_000))
    # 50,000,000 x 1.02^16 = 68,639,285.25...; a 17th step would reach 70,011,071 > U
    assert plan.levels[-1] == D(68_639_000)
    assert plan.quantities[0] == D("0.0002")
    assert plan.quantities[1] == D("0.00019607")


def test_arithmetic_levels():
    params = GridParams(D(100), D(200), grid_count=4, order_amount=D(100))
    plan = build_grid(params, market())
    assert plan.levels == (D(100), D(125), D(150), D(175), D(200))
    assert plan.quantities == (D("1.000"), D("0.8"), D("0.666"), D("0.571"))
    assert plan.spacing == "arithmetic"
    assert plan.order_amount == D(100)


def test_geometric_levels_land_exactly_on_exact_ticks():
    """100..400 in four steps of sqrt(2): 200 is exact and must not come out as 199.99."""
    params = GridParams(D(100), D(400), grid_count=4, spacing="geometric", order_amount=D(100))
    plan = build_grid(params, market())
    assert plan.levels == (D(100), D("141.42"), D(200), D("282.84"), D(400))


def test_geometric_levels_survive_ln_exp_rounding():
    """1..64 in six doublings: 64^(2/6) comes out of exp/ln as 3.99...9 and must be 4."""
    params = GridParams(D(1), D(64), grid_count=6, spacing="geometric", order_amount=D(100))
    assert build_grid(params, market()).levels == (1, 2, 4, 8, 16, 32, 64)


def test_percent_levels_reach_an_exact_top():
    params = GridParams(D(100), D(121), price_change_percent=D(10), order_amount=D(100))
    assert build_grid(params, market()).levels == (D(100), D(110), D(121))


def test_percent_count_survives_ln_rounding():
    """ln(1.02^3) / ln(1.02) is 2.99...9 at 50 digits; 1.02^3 = 1.061208 <= U, so N = 3."""
    params = GridParams(D(1), D("1.061208"), price_change_percent=D(2), order_amount=D(100))
    plan = build_grid(params, market(tick_size=D("0.000001")))
    assert plan.levels == (D(1), D("1.02"), D("1.0404"), D("1.061208"))


def test_percent_count_never_overshoots_the_upper_price():
    """U a hair under 1.01^3: ln at 50 digits says 3 steps fit, exact powers say 2."""
    upper = D("1.030300" + "9" * 64)  # 1.030301 - 1E-70
    params = GridParams(D(1), upper, price_change_percent=D(1), order_amount=D(100))
    plan = build_grid(params, market(tick_size=D("0.000001")))
    assert plan.levels == (D(1), D("1.01"), D("1.0201"))


def test_a_grid_denser_than_the_ticks_is_refused_before_any_level_is_computed():
    params = GridParams(D(100), D(101), grid_count=100_000, order_amount=D(100))
    with pytest.raises(GridConfigError) as caught:
        build_grid(params, market())
    assert caught.value.code == "INVALID_PRICE_RANGE"
    assert "100000 intervals do not fit in 100 ticks" in caught.value.message


def test_levels_are_floored_to_the_tick_once():
    params = GridParams(D("100.004"), D("100.5"), grid_count=3, order_amount=D(100))
    plan = build_grid(params, market())
    # exact levels 100.004, 100.169333.., 100.334666.., 100.5
    assert plan.levels == (D("100.00"), D("100.16"), D("100.33"), D("100.50"))


def test_total_investment_is_split_over_the_intervals():
    params = GridParams(D(100), D(200), grid_count=3, total_investment=D(1000))
    plan = build_grid(params, market())
    assert plan.levels == (D(100), D("133.33"), D("166.66"), D(200))
    assert plan.order_amount == D("333." + "3" * 47)
    # q_i = 1000 / (3 p_i) floored: 3.333.., 2.50006.., 2.00008..
    assert plan.quantities == (D("3.333"), D("2.500"), D("2.000"))


def grid(lower, upper, **fields) -> GridParams:
    return GridParams(D(lower), D(upper), **{"order_amount": D(100), **fields})


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (grid(100, "100.05", grid_count=10), "INVALID_PRICE_RANGE"),
        (grid(100, 101, grid_count=150), "INVALID_PRICE_RANGE"),
        (grid("0.004", 1, grid_count=2), "INVALID_PRICE_RANGE"),
        (grid(100, 110, price_change_percent=D(6)), "INVALID_PRICE_RANGE"),
        (grid(100, 101, grid_count=10), "SPACING_BELOW_FEES"),
        (grid(100, 200, grid_count=4, order_amount=D(4)), "BELOW_MIN_NOTIONAL"),
    ],
)
def test_grids_the_market_cannot_trade(params, code):
    on = market(maker_fee=D("0.001"), taker_fee=D("0.001"), min_notional=D(5))
    assert error_code(params, on) == code


def test_too_dense_levels_are_refused_even_when_the_count_fits_the_ticks():
    """Five ticks for five intervals, but geometric spacing puts two levels on one tick."""
    params = GridParams(D("1.00"), D("1.05"), grid_count=5, spacing="geometric", order_amount=D(1))
    assert error_code(params, market()) == "INVALID_PRICE_RANGE"
    arithmetic = GridParams(D("1.00"), D("1.05"), grid_count=5, order_amount=D(1))
    assert build_grid(arithmetic, market()).levels[1] == D("1.01")


def test_spacing_must_beat_the_maker_fee_on_the_rounded_prices():
    """1.002 x 0.999 = 1.000998 <= 1.001 with f = 0.001; 1.003 x 0.999 > 1.001."""
    on = market(tick_size=D("0.1"), maker_fee=D("0.001"), taker_fee=D("0.005"))
    losing = GridParams(D(1000), D(1004), grid_count=2, order_amount=D(100))
    winning = GridParams(D(1000), D(1006), grid_count=2, order_amount=D(100))
    assert error_code(losing, on) == "SPACING_BELOW_FEES"
    assert build_grid(winning, on).levels == (D(1000), D(1003), D(1006))


def test_the_after_fee_sell_must_reach_the_minimum_amount():
    """q = 1.000 is the minimum; the buy brings 0.999 base (fee in base), too little to sell."""
    params = GridParams(D(100), D(200), grid_count=2, order_amount=D(100))
    fee_in_base = market(min_amount=D(1), maker_fee=D("0.001"), taker_fee=D("0.001"))
    assert error_code(params, fee_in_base) == "BELOW_MIN_NOTIONAL"
    fee_in_quote = market(min_amount=D("0.5"), maker_fee=D("0.001"), fee_in_received_asset=False)
    assert build_grid(params, fee_in_quote).quantities == (D(1), D("0.666"))


def test_the_after_fee_sell_is_checked_with_the_taker_fee():
    """q_1 = 105.21 / 105 = 1.002: 1.002 x 0.999 keeps the minimum 1.000, x 0.998 does not."""
    params = GridParams(D(100), D(110), grid_count=2, order_amount=D("105.21"))
    on = market(min_amount=D(1), maker_fee=D("0.001"), taker_fee=D("0.002"))
    assert error_code(params, on) == "BELOW_MIN_NOTIONAL"
    relaxed = market(min_amount=D(1), maker_fee=D("0.001"), taker_fee=D("0.001"))
    assert build_grid(params, relaxed).quantities == (D("1.052"), D("1.002"))


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"grid_count": 5, "price_change_percent": D(1)}, "VALIDATION_ERROR"),
        ({}, "VALIDATION_ERROR"),
        ({"grid_count": 5, "total_investment": D(100)}, "VALIDATION_ERROR"),
        ({"grid_count": 5, "order_amount": None}, "VALIDATION_ERROR"),
        ({"price_change_percent": D(1), "spacing": "arithmetic"}, "VALIDATION_ERROR"),
        ({"price_change_percent": D(0)}, "VALIDATION_ERROR"),
        ({"grid_count": 5, "spacing": "log"}, "VALIDATION_ERROR"),
        ({"grid_count": True}, "VALIDATION_ERROR"),
        ({"grid_count": D(5)}, "VALIDATION_ERROR"),
        ({"grid_count": 5, "order_amount": D(0)}, "VALIDATION_ERROR"),
        ({"grid_count": 1}, "INVALID_PRICE_RANGE"),
        ({"grid_count": 5, "lower_price": D(200)}, "INVALID_PRICE_RANGE"),
        ({"grid_count": 5, "lower_price": D(0)}, "INVALID_PRICE_RANGE"),
    ],
)
def test_params_are_validated(fields, code):
    values = {"lower_price": D(100), "upper_price": D(200), "order_amount": D(10), **fields}
    with pytest.raises(GridConfigError) as caught:
        GridParams(**values)
    assert caught.value.code == code


# -- the exact model ----------------------------------------------------------------------


def floor_to(value: Fraction, step: Fraction) -> Fraction:
    return math.floor(value / step) * step


def exact_count(params: GridParams) -> int:
    if params.grid_count is not None:
        return params.grid_count
    ratio, top, count = 1 + F(params.price_change_percent) / 100, F(params.lower_price), 0
    while top * ratio <= F(params.upper_price):
        top, count = top * ratio, count + 1
    return count


def exact_level(params: GridParams, count: int, i: int, tick: Fraction) -> Fraction:
    lower, upper = F(params.lower_price), F(params.upper_price)
    if params.resolved_spacing == "arithmetic":
        return floor_to(lower + i * (upper - lower) / count, tick)
    if params.price_change_percent is not None:
        return floor_to(lower * (1 + F(params.price_change_percent) / 100) ** i, tick)
    # p_i = L (U/L)^(i/N), so k tick <= p_i  <=>  (k tick)^N <= L^(N-i) U^i, exactly
    target = lower ** (count - i) * upper**i
    estimate = Context(prec=60).power(D(target.numerator) / D(target.denominator), D(1) / count)
    k = math.floor(F(estimate) / tick)
    while (k * tick) ** count > target:
        k -= 1
    while ((k + 1) * tick) ** count <= target:
        k += 1
    return k * tick


Expected = tuple[str | None, list[Fraction], list[Fraction]]


def expected_grid(params: GridParams, on: Market) -> Expected:
    """(error code or None, levels, quantities) by GRID.md, in exact rationals."""
    count = exact_count(params)
    if count < 2:
        return "INVALID_PRICE_RANGE", [], []
    tick, step = F(on.tick_size), F(on.step_size)
    levels = [exact_level(params, count, i, tick) for i in range(count + 1)]
    if levels[0] <= 0 or any(b <= a for a, b in zip(levels, levels[1:])):
        return "INVALID_PRICE_RANGE", levels, []
    f = F(on.maker_fee)
    if any(b * (1 - f) <= a * (1 + f) for a, b in zip(levels, levels[1:])):
        return "SPACING_BELOW_FEES", levels, []
    if params.order_amount is not None:
        budget = F(params.order_amount)
    else:
        budget = F(params.total_investment) / count
    quantities = [floor_to(budget / p, step) for p in levels[:-1]]
    worst = max(F(on.maker_fee), F(on.taker_fee))
    for i, q in enumerate(quantities):
        orders = [(q, levels[i])]
        if on.fee_in_received_asset:
            orders.append((floor_to(q * (1 - worst), step), levels[i + 1]))
        for amount, price in orders:
            if amount <= 0 or amount < on.min_amount or amount * price < on.min_notional:
                return "BELOW_MIN_NOTIONAL", levels, quantities
    return None, levels, quantities


# -- generated markets and grids ----------------------------------------------------------

fees = st.integers(0, 200).map(lambda n: D(n).scaleb(-5))


@st.composite
def markets(draw) -> Market:
    step = draw(st.sampled_from([D("0.00000001"), D("0.00001"), D("0.001"), D("0.01"), D(1)]))
    return market(
        tick_size=draw(st.sampled_from([D("0.0001"), D("0.01"), D("0.5"), D(1), D(5)])),
        step_size=step,
        min_amount=step * draw(st.sampled_from([0, 1, 10, 1000])),
        min_notional=draw(st.sampled_from([D(0), D(1), D(5), D(10)])),
        maker_fee=draw(fees),
        taker_fee=draw(fees),
        fee_in_received_asset=draw(st.booleans()),
    )


@st.composite
def grid_cases(draw) -> tuple[GridParams, Market]:
    on = draw(markets())
    tick = on.tick_size
    lower_ticks = draw(st.integers(1, 200_000))
    off_tick = draw(st.sampled_from([D(0), D("0.37")]))
    lower = (lower_ticks + off_tick) * tick
    by_percent = draw(st.booleans())
    if by_percent:
        width = draw(st.integers(1, lower_ticks * 2))
    else:
        width = draw(st.integers(1, 400_000))
    upper = lower + width * tick
    budget = D(draw(st.integers(1, 10**7))).scaleb(-2)
    if draw(st.booleans()):
        money = {"order_amount": budget}
    else:
        money = {"total_investment": budget * draw(st.integers(1, 50))}
    if by_percent:
        percent = D(draw(st.integers(50, 1000))).scaleb(-2)
        params = GridParams(lower, upper, price_change_percent=percent, **money)
    else:
        count = draw(st.integers(2, 40))
        spacing = draw(st.sampled_from([None, "arithmetic", "geometric"]))
        params = GridParams(lower, upper, grid_count=count, spacing=spacing, **money)
    return params, on


@settings(max_examples=400)
@given(grid_cases())
def test_build_grid_matches_the_exact_model(case):
    params, on = case
    code, levels, quantities = expected_grid(params, on)
    event(f"outcome: {code or 'built'}")
    if code is not None:
        assert error_code(params, on) == code
        return
    plan = build_grid(params, on)
    assert [F(p) for p in plan.levels] == levels
    assert [F(q) for q in plan.quantities] == quantities


@settings(max_examples=300)
@given(grid_cases())
def test_a_built_grid_keeps_the_market_rules(case):
    params, on = case
    try:
        plan = build_grid(params, on)
    except GridConfigError:
        reject()
    assert len(plan.levels) == plan.grid_count + 1 == len(plan.quantities) + 1
    assert all(a < b for a, b in zip(plan.levels, plan.levels[1:]))
    assert all(is_multiple(p, on.tick_size) for p in plan.levels)
    assert plan.levels[-1] <= params.upper_price
    if params.order_amount is not None:
        budget = F(params.order_amount)
    else:
        budget = F(params.total_investment) / plan.grid_count
    f = F(on.maker_fee)
    for i, q in enumerate(plan.quantities):
        buy, sell = plan.levels[i], plan.levels[i + 1]
        on.check_order(Side.BUY, buy, q)
        on.check_order(Side.SELL, sell, q)
        assert F(q) * F(buy) <= budget < (F(q) + F(on.step_size)) * F(buy)
        assert F(sell) * (1 - f) > F(buy) * (1 + f)
        for is_maker in (True, False):
            base_fee, currency = on.fee(q, buy, Side.BUY, is_maker)
            net = q - base_fee if currency == on.base else q
            follow = counter_order(plan, i, Side.BUY, net)
            assert follow == PlannedOrder(i, Side.SELL, sell, on.amount_to_step(net))
            on.check_order(Side.SELL, follow.price, follow.amount)


# -- start --------------------------------------------------------------------------------


@st.composite
def plans(draw) -> GridPlan:
    params, on = draw(grid_cases())
    try:
        return build_grid(params, on)
    except GridConfigError:
        reject()


@st.composite
def plans_and_prices(draw) -> tuple[GridPlan, Decimal]:
    plan = draw(plans())
    levels = plan.levels
    i = draw(st.integers(0, plan.grid_count - 1))
    low, high = levels[i], levels[i + 1]
    price = draw(
        st.one_of(
            st.sampled_from(levels),
            st.just((low + high) / 2),
            st.integers(0, 1000).map(lambda n: low + (high - low) * n / 1000),
            st.just(levels[0] / 2),
            st.just(levels[-1] * 2),
        )
    )
    return plan, price


def test_start_orders_example():
    plan = build_grid(GridParams(D(100), D(120), grid_count=2, order_amount=D(110)), market())
    q0, q1 = plan.quantities
    assert (q0, q1) == (D("1.1"), D(1))
    buy0, sell0 = PlannedOrder(0, Side.BUY, D(100), q0), PlannedOrder(0, Side.SELL, D(110), q0)
    buy1, sell1 = PlannedOrder(1, Side.BUY, D(110), q1), PlannedOrder(1, Side.SELL, D(120), q1)
    cases = [
        (D(90), [sell0, sell1], q0 + q1),  # below L: every interval holds base
        (D(100), [sell0, sell1], q0 + q1),  # on p_0: p_0 is the level without an order
        (D(104), [sell0, sell1], q0 + q1),  # nearer p_0
        (D(105), [buy0, sell1], q1),  # the tie: hold quote
        (D(106), [buy0, sell1], q1),  # nearer p_1
        (D(110), [buy0, sell1], q1),
        (D(119), [buy0, buy1], D(0)),
        (D(120), [buy0, buy1], D(0)),  # on U: all buys, p_N carries none
        (D(130), [buy0, buy1], D(0)),  # above U: every interval holds quote
    ]
    for price, orders, base in cases:
        assert initial_orders(plan, price) == orders, price
        assert initial_base_to_buy(plan, price) == base, price


@settings(max_examples=300)
@given(plans_and_prices())
def test_start_places_one_order_per_interval_and_none_at_the_nearest_level(case):
    plan, price = case
    orders = initial_orders(plan, price)
    assert [o.interval for o in orders] == list(range(plan.grid_count))
    assert all(o.amount == plan.quantities[o.interval] for o in orders)
    for o in orders:
        low, high = plan.levels[o.interval], plan.levels[o.interval + 1]
        assert (o.side, o.price) in ((Side.BUY, low), (Side.SELL, high))
        assert (o.price < price) if o.side is Side.BUY else (o.price > price)
    empty = set(plan.levels) - {o.price for o in orders}
    assert len(empty) == 1
    nearest = min(abs(p - price) for p in plan.levels)
    assert abs(empty.pop() - price) == nearest
    sold = sum((o.amount for o in orders if o.side is Side.SELL), D(0))
    assert initial_base_to_buy(plan, price) == sold


def test_counter_orders():
    plan = build_grid(GridParams(D(100), D(120), grid_count=2, order_amount=D(110)), market())
    after_buy = counter_order(plan, 0, Side.BUY, D("1.0989"))
    assert after_buy == PlannedOrder(0, Side.SELL, D(110), D("1.098"))
    after_sell = counter_order(plan, 1, Side.SELL, D("0.999"))
    assert after_sell == PlannedOrder(1, Side.BUY, D(110), D(1))
    with pytest.raises(ValueError):
        counter_order(plan, 2, Side.SELL, D(1))
    with pytest.raises(ValueError):
        counter_order(plan, -1, Side.BUY, D(1))
