"""Cycle profit: the GRID.md formulas, and fills booked by the fee model adding up to them."""

from decimal import Context, Decimal, Inexact, localcontext

import pytest
from hypothesis import given, reject
from hypothesis import strategies as st

from trading.grid.geometry import GridConfigError, GridParams, GridPlan, build_grid, counter_order
from trading.grid.profit import (
    annualized_return,
    cycle_profit_fee_in_quote,
    cycle_profit_fee_in_received,
)
from trading.markets import Market, Side

D = Decimal
EXACT = Context(prec=200, traps=[Inexact])
"""Test arithmetic that raises rather than round: equal here means equal to the last digit."""


def test_fee_in_quote_example():
    # 110 x 0.999 - 100 x 1.001 = 109.89 - 100.1
    assert cycle_profit_fee_in_quote(D(1), D(100), D(110), D("0.001")) == D("9.790")


def test_fee_in_received_example():
    # q' = floor(0.999, 0.001) = 0.999; 0.999 x 110 x 0.999 - 100
    profit = cycle_profit_fee_in_received(D(1), D(100), D(110), D("0.001"), D("0.001"))
    assert profit == D("9.78011")


def test_fee_in_received_rounds_the_sold_base_down():
    # q' = floor(0.00123 x 0.99925, 0.00001) = 0.00122 (not 0.0012290775)
    profit = cycle_profit_fee_in_received(
        D("0.00123"), D("50000.01"), D("51000.5"), D("0.00075"), D("0.00001")
    )
    assert profit == D("0.00122") * D("51000.5") * D("0.99925") - D("0.00123") * D("50000.01")
    assert profit == D("0.67393224250")


def test_formulas_keep_more_digits_than_the_default_context():
    q, b, s, f = D("0.123456789012"), D("61234.5678901"), D("62459.2592679"), D("0.00075")
    with localcontext(EXACT):
        expected = q * s * (1 - f) - q * b * (1 + f)
    assert cycle_profit_fee_in_quote(q, b, s, f) == expected


def test_annualized_return_is_simple():
    assert annualized_return(D("12.5"), D(73)) == D("62.5")
    assert annualized_return(D("-2"), D("0.5")) == D(-1460)
    with pytest.raises(ValueError):
        annualized_return(D(1), D(0))


@st.composite
def plans(draw) -> GridPlan:
    step = draw(st.sampled_from([D("0.00000001"), D("0.00001"), D("0.001"), D(1)]))
    tick = draw(st.sampled_from([D("0.0001"), D("0.01"), D("0.5"), D(5)]))
    fee = D(draw(st.integers(0, 200))).scaleb(-5)
    market = Market(
        symbol="X/Y",
        base="X",
        quote="Y",
        tick_size=tick,
        step_size=step,
        min_notional=draw(st.sampled_from([D(0), D(5)])),
        maker_fee=fee,
        taker_fee=fee,
        fee_in_received_asset=draw(st.booleans()),
    )
    lower = tick * draw(st.integers(1, 100_000))
    params = GridParams(
        lower,
        lower + tick * draw(st.integers(2, 200_000)),
        grid_count=draw(st.integers(2, 30)),
        spacing=draw(st.sampled_from(["arithmetic", "geometric"])),
        order_amount=D(draw(st.integers(100, 10**7))).scaleb(-2),
    )
    try:
        return build_grid(params, market)
    except GridConfigError:
        reject()


@given(plans(), st.data())
def test_a_cycle_booked_from_its_fills_equals_the_formula(plan, data):
    """Buy q_i at p_i, sell what the counter-order says at p_{i+1}; fees per the fee model."""
    market = plan.market
    i = data.draw(st.integers(0, plan.grid_count - 1))
    q, b, s, f = plan.quantities[i], plan.levels[i], plan.levels[i + 1], market.maker_fee
    with localcontext(EXACT):
        buy_fee, buy_fee_currency = market.fee(q, b, Side.BUY, True)
        quote_paid = q * b + (buy_fee if buy_fee_currency == market.quote else 0)
        base_got = q - (buy_fee if buy_fee_currency == market.base else 0)
        sell = counter_order(plan, i, Side.BUY, base_got)
        assert (sell.side, sell.price) == (Side.SELL, s)
        sell_fee, sell_fee_currency = market.fee(sell.amount, sell.price, Side.SELL, True)
        assert sell_fee_currency == market.quote
        profit = sell.amount * sell.price - sell_fee - quote_paid
    if market.fee_in_received_asset:
        assert buy_fee_currency == market.base
        assert profit == cycle_profit_fee_in_received(q, b, s, f, market.step_size)
    else:
        assert buy_fee_currency == market.quote
        assert sell.amount == q
        assert profit == cycle_profit_fee_in_quote(q, b, s, f)
        assert profit > 0  # the spacing check guarantees it when fees are in quote
    rebuy = counter_order(plan, i, Side.SELL, sell.amount)
    assert (rebuy.side, rebuy.price, rebuy.amount) == (Side.BUY, b, q)
