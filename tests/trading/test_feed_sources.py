"""Feed sources: candle files, their replay, and the random walk."""

from __future__ import annotations

from decimal import Decimal
from itertools import islice
from pathlib import Path

import pytest

from trading.feeds.candles import CandleFileError, CandleReplay, read_candles
from trading.feeds.random_walk import RandomWalk
from trading.market_data import Candle
from trading.money import is_multiple

D = Decimal
ROOT = Path(__file__).resolve().parents[2]
XRP_CANDLES = ROOT / "config" / "examples" / "data" / "XRP-USDT_5m.csv"
HEADER = "timestamp_ms,open,high,low,close,volume\n"

UP = Candle(0, D("10"), D("12"), D("9.5"), D("11.5"), D("1"))  # low is nearer the open
DOWN = Candle(60_000, D("10"), D("10.5"), D("8"), D("8.5"), D("1"))  # high is nearer
LAST = Candle(300_000, D("8.5"), D("9"), D("8.4"), D("8.8"), D("1"))


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "candles.csv"
    path.write_text(body, encoding="utf-8")
    return path


# -- reading ------------------------------------------------------------------------------


def test_the_shipped_candles_are_read_exactly():
    candles = read_candles(XRP_CANDLES)

    assert len(candles) == 1999
    first = candles[0]
    assert first.open_time_ms == 1636934400000
    assert [str(v) for v in (first.open, first.high, first.low, first.close, first.volume)] == [
        "1.1893", "1.1954", "1.1891", "1.1941", "9289043.5",
    ]
    assert all(isinstance(v, Decimal) for v in (first.open, first.volume))
    assert str(candles[-1].close) == "1.0713"
    assert {b.open_time_ms - a.open_time_ms for a, b in zip(candles, candles[1:])} == {300_000}


def test_numbers_keep_every_digit_they_were_written_with(tmp_path):
    path = write(tmp_path, HEADER + "1,1.10,1.200,1.0000000000000000000001,1.1,0.123456789012345678901\n")
    (candle,) = read_candles(path)
    assert [str(v) for v in (candle.open, candle.high, candle.low, candle.volume)] == [
        "1.10", "1.200", "1.0000000000000000000001", "0.123456789012345678901",
    ]


@pytest.mark.parametrize(
    ("rows", "line", "problem"),
    [
        ("1,1.0,1.2,0.9,1.1,5\n2,1.2,1.25,1.15,1.1,5\n", 3, "low 1.15 is above min(open, close) 1.1"),
        ("1,1.0,1.2,0.9,1.1,5\n2,1.1,1.11,1.0,1.12,5\n", 3, "high 1.11 is below max(open, close) 1.12"),
        ("5,1.0,1.2,0.9,1.1,5\n5,1.0,1.2,0.9,1.1,5\n", 3, "timestamp 5 is not after the previous one (5)"),
        ("5,1.0,1.2,0.9,1.1,5\n4,1.0,1.2,0.9,1.1,5\n", 3, "timestamp 4 is not after"),
        ("1,1.0,1.2,0.9,1.1\n", 2, "expected 6 fields, found 5"),
        ("1,1.0,abc,0.9,1.1,5\n", 2, "high 'abc' is not a number"),
        ("1,1.0,NaN,0.9,1.1,5\n", 2, "high 'NaN' is not a number"),
        ("1.5,1.0,1.2,0.9,1.1,5\n", 2, "timestamp_ms '1.5' is not a whole number"),
        ("1,0,1.2,0,1.1,5\n", 2, "open 0 must be positive"),
        ("", 2, "no candles"),
    ],
)
def test_a_malformed_file_is_rejected_naming_file_and_line(tmp_path, rows, line, problem):
    path = write(tmp_path, HEADER + rows)
    with pytest.raises(CandleFileError) as caught:
        read_candles(path)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}, line {line}: ")
    assert problem in str(caught.value)


def test_a_wrong_header_is_line_one(tmp_path):
    path = write(tmp_path, "time,open,high,low,close,volume\n1,1,1,1,1,1\n")
    with pytest.raises(CandleFileError, match=r"line 1: the header must be"):
        read_candles(path)


# -- replay -------------------------------------------------------------------------------


def test_each_candle_walks_open_nearer_extreme_other_extreme_close():
    prices = [price for _, price in CandleReplay([UP, DOWN, LAST])]

    assert prices[:4] == [D("10"), D("9.5"), D("12"), D("11.5")]  # up: low first
    assert prices[4:8] == [D("10"), D("10.5"), D("8"), D("8.5")]  # down: high first
    assert prices[8:] == [D("8.5"), D("8.4"), D("9"), D("8.8")]


def test_a_candle_spreads_its_duration_over_its_four_points_divided_by_speed():
    # UP lasts 60 s, DOWN 240 s (until LAST opens), LAST as long as DOWN. At speed 10 the
    # points are 1.5 s and 6 s apart; a candle's open follows the previous close by one
    # spacing of the previous candle.
    delays = [delay for delay, _ in CandleReplay([UP, DOWN, LAST], speed=10)]

    assert delays == pytest.approx([0, 1.5, 1.5, 1.5] + [1.5, 6, 6, 6] + [6, 6, 6, 6])


def test_without_loop_the_replay_ends_after_the_last_close():
    assert len(list(CandleReplay([UP, DOWN, LAST], loop=False))) == 12


def test_with_loop_the_first_candle_follows_the_last_on_the_same_timeline():
    steps = list(islice(CandleReplay([UP, DOWN, LAST], speed=10, loop=True), 30))

    assert [price for _, price in steps[12:24]] == [price for _, price in steps[:12]]
    assert steps[12][0] == pytest.approx(6)  # LAST's spacing, not a fresh start at 0
    assert [delay for delay, _ in steps[13:24]] == pytest.approx([d for d, _ in steps[1:12]])
    assert steps[24] == (pytest.approx(6), D("10"))


def test_each_iteration_starts_from_the_first_candle():
    replay = CandleReplay([UP, DOWN, LAST], loop=True)
    first = list(islice(replay, 7))
    assert list(islice(replay, 7)) == first


def test_a_replay_needs_two_candles_and_a_positive_speed():
    with pytest.raises(ValueError, match="two candles"):
        CandleReplay([UP])
    with pytest.raises(ValueError, match="speed"):
        CandleReplay([UP, DOWN], speed=0)


# -- random walk --------------------------------------------------------------------------


def test_the_random_walk_is_deterministic_per_seed():
    walk = RandomWalk(D("1.2"), volatility=0.01, seed=7)
    prices = list(islice(walk, 500))

    assert list(islice(RandomWalk(D("1.2"), volatility=0.01, seed=7), 500)) == prices
    assert list(islice(walk, 500)) == prices  # iterating again starts again
    assert list(islice(RandomWalk(D("1.2"), volatility=0.01, seed=8), 500)) != prices
    assert prices[0] == D("1.2")
    assert len(set(prices)) > 400  # it moves


def test_random_walk_prices_are_exact_decimals_and_stay_positive():
    prices = list(islice(RandomWalk(D("0.0005"), volatility=0.5, seed=1), 3000))

    assert all(isinstance(p, Decimal) and p > 0 for p in prices)
    assert min(prices) < D("0.0005") / 100  # it wandered far down and stayed above zero
    # Without a tick size: 8 significant digits of the start price, 5E-4 -> a 1E-11 tick.
    assert all(is_multiple(p, D("1E-11")) for p in prices)


def test_random_walk_prices_are_on_the_given_tick():
    tick = D("0.05")
    prices = list(islice(RandomWalk(D("1.23"), volatility=0.3, seed=3, tick_size=tick), 3000))

    assert prices[0] == D("1.25")  # the start price rounded to the nearest tick
    assert all(is_multiple(p, tick) and p >= tick for p in prices)
    assert prices.count(tick) > 0  # pushed against the floor, it stays one tick up


def test_zero_volatility_holds_the_price():
    assert set(islice(RandomWalk(D("3.5"), volatility=0, seed=0), 50)) == {D("3.5")}


@pytest.mark.parametrize(
    "kwargs",
    [{"start_price": D(0)}, {"volatility": 1.0}, {"volatility": -0.1}, {"tick_size": D(0)}],
)
def test_random_walk_rejects_bad_arguments(kwargs):
    arguments = {"start_price": D("1"), "volatility": 0.01, "seed": 0, **kwargs}
    with pytest.raises(ValueError):
        RandomWalk(**arguments)
