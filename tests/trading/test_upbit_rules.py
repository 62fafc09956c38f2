"""Upbit's KRW tick bands and minimum order value, as `trading.venues.upbit_rules` gives them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trading.markets import OrderRuleViolation, Side
from trading.money import is_multiple
from trading.venues.upbit_rules import (
    KRW_MIN_ORDER_VALUE,
    KRW_TICK_BANDS,
    instrument_tick_size,
    krw_tick_size,
    upbit_market,
)

D = Decimal


def ccxt_market(symbol: str = "BTC/KRW", **changes) -> dict:
    """A market as ccxt 4.5's `upbit.parse_market` makes it: no tick, no minimums."""
    base, quote = symbol.split("/")
    market = {
        "id": f"{quote}-{base}", "symbol": symbol, "base": base, "quote": quote,
        "precision": {"price": 1e-08, "amount": 1e-08},
        "limits": {"amount": {"min": None, "max": None}, "cost": {"min": None, "max": None}},
        "maker": 0.0005, "taker": 0.0005,
    }
    market.update(changes)
    return market


@pytest.mark.parametrize("price,tick", [
    ("2000000", "1000"), ("1999999", "1000"), ("1000000", "1000"),
    ("999999", "500"), ("500000", "500"),
    ("499999.99", "100"), ("100000", "100"),
    ("99999", "50"), ("50000", "50"),
    ("49999", "10"), ("10000", "10"),
    ("9999", "5"), ("5000", "5"),
    ("4999", "1"), ("1000", "1"), ("999", "1"), ("100", "1"),
    ("99.9", "0.1"), ("10", "0.1"),
    ("9.99", "0.01"), ("1", "0.01"),
    ("0.999", "0.001"), ("0.1", "0.001"),
    ("0.0999", "0.0001"), ("0.01", "0.0001"),
    ("0.00999", "0.00001"), ("0.001", "0.00001"),
    ("0.000999", "0.000001"), ("0.0001", "0.000001"),
    ("0.0000999", "0.0000001"), ("0.00001", "0.0000001"),
    ("0.00000999", "0.00000001"), ("0.00000001", "0.00000001"),
])
def test_krw_tick_at_band_edges(price, tick):
    assert krw_tick_size(D(price)) == D(tick)


def test_each_band_tick_is_a_multiple_of_every_lower_band_tick():
    """Why one `Market` made at a grid's highest price is valid at its lower levels."""
    ticks = [tick for _, tick in KRW_TICK_BANDS]
    for i, tick in enumerate(ticks):
        assert all(is_multiple(tick, lower) for lower in ticks[i:])
    floors = [floor for floor, _ in KRW_TICK_BANDS]
    assert floors == sorted(floors, reverse=True)
    # A band's floor is on its own tick, so rounding up across a band edge lands on the tick.
    assert all(is_multiple(floor, tick) for floor, tick in KRW_TICK_BANDS if floor)


def test_krw_tick_refuses_non_positive_prices():
    with pytest.raises(ValueError):
        krw_tick_size(D(0))


def test_krw_market_takes_the_band_tick_and_the_5000_krw_minimum():
    market = upbit_market(ccxt_market(), D("1999999"))
    assert (market.tick_size, market.step_size) == (D("1000"), D("0.00000001"))
    assert market.min_notional == KRW_MIN_ORDER_VALUE == D("5000")
    assert (market.maker_fee, market.taker_fee) == (D("0.0005"), D("0.0005"))
    assert market.fee_in_received_asset is False
    assert upbit_market(ccxt_market(), D("999999")).tick_size == D("500")


def test_the_exchange_tick_and_minimum_win_over_the_fallbacks():
    """`orders/chance` (ccxt's `fetch_market`) sets `limits.cost.min`; `orderbook/instruments`
    gives the tick at the current price, coin exceptions included."""
    chance = ccxt_market(limits={"cost": {"min": 5500.0, "max": 1e9}}, maker=0.00139, taker=0.00139)
    market = upbit_market(chance, D("150"), tick_size=D("0.1"))
    assert (market.tick_size, market.min_notional) == (D("0.1"), D("5500"))
    assert market.taker_fee == D("0.00139")


def test_non_krw_market_has_no_band_table():
    market = upbit_market(ccxt_market("ETH/BTC"), D("0.035"))
    assert (market.tick_size, market.min_notional) == (D("0.00000001"), D(0))


def test_instrument_tick_is_read_exactly():
    answer = [
        {"market": "KRW-ETH", "quote_currency": "KRW", "tick_size": "1000", "supported_levels": ["0"]},
        {"market": "KRW-BTC", "quote_currency": "KRW", "tick_size": "1000", "supported_levels": ["0"]},
        {"market": "KRW-DOGE", "quote_currency": "KRW", "tick_size": "0.1", "supported_levels": ["0"]},
    ]
    assert instrument_tick_size(answer, "KRW-DOGE") == D("0.1")
    assert instrument_tick_size(answer, "KRW-XRP") is None


@pytest.mark.parametrize("side,raw,wire", [
    (Side.BUY, "1999999.5", "1999000"),
    (Side.SELL, "1999999.5", "2000000"),
    (Side.BUY, "999999", "999500"),
    (Side.SELL, "999500.0000000001", "1000000"),
])
def test_prices_quantize_to_the_band_tick(side, raw, wire):
    market = upbit_market(ccxt_market(), D(raw))
    assert str(market.price_to_tick(D(raw), side)) == wire


def test_an_order_below_5000_krw_breaks_the_rules():
    market = upbit_market(ccxt_market(), D("150000000"))
    with pytest.raises(OrderRuleViolation) as caught:
        market.check_order(Side.BUY, D("150000000"), D("0.00003333"))  # 4,999.5 KRW
    assert caught.value.code == "BELOW_MIN_NOTIONAL"
    market.check_order(Side.BUY, D("150000000"), D("0.00003334"))  # 5,001 KRW
