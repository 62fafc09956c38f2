"""Candles regrouped into a longer interval (5m candles into 1h), exactly.

Buckets are aligned to the epoch (a 1h candle opens on the hour): open of the first
candle, highest high, lowest low, close of the last, summed volume. A partial bucket at
either end is kept: it is what the data holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import localcontext

from trading.market_data import Candle
from trading.money import MONEY_CONTEXT

INTERVALS_MS: dict[str, int] = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}


def base_interval_ms(candles: list[Candle]) -> int:
    """The spacing of a candle file: the smallest gap between two opens."""
    if len(candles) < 2:
        raise ValueError("need two candles to know their interval")
    return min(b.open_time_ms - a.open_time_ms for a, b in zip(candles, candles[1:]))


def resample(candles: Iterable[Candle], interval_ms: int) -> list[Candle]:
    """`candles` (oldest first) grouped into epoch-aligned buckets of `interval_ms`."""
    result: list[Candle] = []
    for candle in candles:
        start = candle.open_time_ms - candle.open_time_ms % interval_ms
        if result and result[-1].open_time_ms == start:
            last = result[-1]
            with localcontext(MONEY_CONTEXT):
                volume = last.volume + candle.volume
            result[-1] = Candle(
                start, last.open, max(last.high, candle.high), min(last.low, candle.low), candle.close, volume,
            )
        else:
            result.append(Candle(start, candle.open, candle.high, candle.low, candle.close, candle.volume))
    return result
