"""A market's tick, step, minimum and fee rules."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.markets import Market, OrderRuleViolation, Side
from trading.money import is_multiple

D = Decimal


def binance_btc(**changes) -> Market:
    fields = dict(
        symbol="BTC/USDT",
        base="BTC",
        quote="USDT",
        tick_size=D("0.01"),
        step_size=D("0.00001"),
        min_amount=D("0.00001"),
        min_notional=D("5"),
        maker_fee=D("0.001"),
        taker_fee=D("0.0015"),
        fee_in_received_asset=True,
    )
    fields.update(changes)
    return Market(**fields)


@given(
    st.integers(1, 10**12).map(lambda n: D(n).scaleb(-6)),
    st.sampled_from([D("0.0001"), D("0.01"), D("0.5"), D("5")]),
)
def test_buys_round_down_and_sells_up_onto_the_tick(price, tick):
    market = binance_btc(tick_size=tick)
    buy = market.price_to_tick(price, Side.BUY)
    sell = market.price_to_tick(price, Side.SELL)
    assert is_multiple(buy, tick) and is_multiple(sell, tick)
    assert price - tick < buy <= price <= sell < price + tick
    assert market.level_price(price) == buy


def test_rounding_examples():
    market = binance_btc(tick_size=D("0.5"), step_size=D("0.001"))
    assert market.price_to_tick(D("100.3"), Side.BUY) == D("100.0")
    assert market.price_to_tick(D("100.3"), Side.SELL) == D("100.5")
    assert market.price_to_tick(D("100.5"), Side.SELL) == D("100.5")
    assert market.level_price(D("100.99")) == D("100.5")
    assert market.amount_to_step(D("0.12399")) == D("0.123")


def test_a_valid_order_passes():
    binance_btc().check_order(Side.BUY, D("50000.01"), D("0.0001"))


@pytest.mark.parametrize(
    ("side", "price", "amount", "code"),
    [
        (Side.BUY, D("0"), D("0.001"), "NON_POSITIVE"),
        (Side.SELL, D("50000"), D("-0.001"), "NON_POSITIVE"),
        (Side.BUY, D("50000.005"), D("0.001"), "PRICE_NOT_ON_TICK"),
        (Side.SELL, D("50000"), D("0.000015"), "AMOUNT_NOT_ON_STEP"),
        (Side.BUY, D("50000"), D("0.00009"), "BELOW_MIN_NOTIONAL"),
    ],
)
def test_check_order_mirrors_exchange_rejections(side, price, amount, code):
    with pytest.raises(OrderRuleViolation) as caught:
        binance_btc().check_order(side, price, amount)
    assert caught.value.code == code


def test_min_amount_is_checked_before_min_notional():
    market = binance_btc(min_amount=D("0.001"))
    with pytest.raises(OrderRuleViolation) as caught:
        market.check_order(Side.BUY, D("50000"), D("0.0009"))
    assert caught.value.code == "BELOW_MIN_AMOUNT"
    market.check_order(Side.BUY, D("50000"), D("0.001"))


def test_zero_minimums_mean_no_limit():
    market = binance_btc(min_amount=D(0), min_notional=D(0))
    market.check_order(Side.BUY, D("0.01"), D("0.00001"))


def test_fees_in_the_received_asset():
    market = binance_btc()
    assert market.fee(D("0.5"), D("60000"), Side.BUY, True) == (D("0.0005"), "BTC")
    assert market.fee(D("0.5"), D("60000"), Side.BUY, False) == (D("0.00075"), "BTC")
    assert market.fee(D("0.5"), D("60000"), Side.SELL, True) == (D("30"), "USDT")
    assert market.fee(D("0.5"), D("60000"), Side.SELL, False) == (D("45"), "USDT")


def test_fees_always_in_quote():
    market = binance_btc(fee_in_received_asset=False, maker_fee=D("0.0005"))
    assert market.fee(D("0.5"), D("60000"), Side.BUY, True) == (D("15"), "USDT")
    assert market.fee(D("0.5"), D("60000"), Side.SELL, True) == (D("15"), "USDT")


def test_fees_keep_every_digit():
    """32 significant digits: more than the default 28-digit context would keep."""
    market = binance_btc(maker_fee=D("0.00075"))
    fee, _ = market.fee(D("0.123456789012345678"), D("61234.5678901234"), Side.SELL, True)
    assert fee == D("5.6698673462048415265524021574989")


@pytest.mark.parametrize(
    "changes",
    [
        {"tick_size": D(0)},
        {"step_size": D("-0.1")},
        {"min_notional": D(-1)},
        {"maker_fee": D(1)},
        {"taker_fee": D("-0.001")},
    ],
)
def test_impossible_markets_are_refused(changes):
    with pytest.raises(ValueError):
        binance_btc(**changes)
