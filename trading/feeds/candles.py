"""Candles from CSV files, and their replay as a paced stream of prices.

The file format is the one of `config/examples/data/`: a header line
`timestamp_ms,open,high,low,close,volume`, then one candle per line, oldest first.
Numbers go from their text straight into `Decimal`, never through float, so a replayed
price is exactly the price in the file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

from trading.feeds import FeedStep
from trading.market_data import Candle
from trading.money import to_decimal

HEADER = ("timestamp_ms", "open", "high", "low", "close", "volume")
POINTS_PER_CANDLE = 4
"""A candle replays as its `path()`: open, the nearer extreme, the other extreme, close."""


class CandleFileError(ValueError):
    """A candle file that cannot be used; the message names the file and line."""

    def __init__(self, path: Path, line: int, problem: str) -> None:
        super().__init__(f"{path}, line {line}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


def read_candles(path: str | Path) -> list[Candle]:
    """Every candle of a CSV file, checked: well-formed numbers, timestamps strictly
    increasing, and `low <= open, close <= high`. Raises `CandleFileError`."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        if header is None or tuple(name.strip() for name in header) != HEADER:
            raise CandleFileError(path, 1, f"the header must be {','.join(HEADER)}")
        candles: list[Candle] = []
        for row in reader:
            if not row:
                continue  # a blank line
            candle = _parse_row(path, reader.line_num, row)
            if candles and candle.open_time_ms <= candles[-1].open_time_ms:
                raise CandleFileError(
                    path, reader.line_num,
                    f"timestamp {candle.open_time_ms} is not after the previous one "
                    f"({candles[-1].open_time_ms})",
                )
            candles.append(candle)
    if not candles:
        raise CandleFileError(path, 2, "no candles after the header")
    return candles


def _parse_row(path: Path, line: int, row: list[str]) -> Candle:
    if len(row) != len(HEADER):
        raise CandleFileError(path, line, f"expected {len(HEADER)} fields, found {len(row)}")
    timestamp = row[0].strip()
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise CandleFileError(path, line, f"timestamp_ms {row[0]!r} is not a whole number")
    values: list[Decimal] = []
    for name, text in zip(HEADER[1:], row[1:]):
        try:
            value = to_decimal(text)
        except ValueError:
            raise CandleFileError(path, line, f"{name} {text!r} is not a number") from None
        if value < 0 or (value == 0 and name != "volume"):
            raise CandleFileError(path, line, f"{name} {text} must be positive")
        values.append(value)
    open_, high, low, close, volume = values
    if low > min(open_, close):
        raise CandleFileError(path, line, f"low {low} is above min(open, close) {min(open_, close)}")
    if high < max(open_, close):
        raise CandleFileError(path, line, f"high {high} is below max(open, close) {max(open_, close)}")
    return Candle(int(timestamp), open_, high, low, close, volume)


class CandleReplay:
    """Candles as `(delay_s, price)` steps: each candle walks its `path()`, its four points
    spread evenly over the candle's duration divided by `speed`.

    A candle lasts until the next one opens (so a gap in the data plays as a slow candle);
    the last one lasts as long as the one before it. With `loop`, the first candle follows
    the last after that duration, as if the timeline went on; without it the steps end.
    Each `iter()` is a new cursor from the first candle.
    """

    def __init__(self, candles: Sequence[Candle], speed: float = 1.0, loop: bool = False) -> None:
        if len(candles) < 2:
            raise ValueError("a replay needs at least two candles: their spacing is its pace")
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.candles = tuple(candles)
        self.speed = speed
        self.loop = loop
        durations_ms = [b.open_time_ms - a.open_time_ms for a, b in zip(self.candles, self.candles[1:])]
        durations_ms.append(durations_ms[-1])
        self._point_spacing_s = [
            ms / 1000 / POINTS_PER_CANDLE / speed for ms in durations_ms
        ]

    def __iter__(self) -> Iterator[FeedStep]:
        delay_s = 0.0
        while True:
            for candle, spacing_s in zip(self.candles, self._point_spacing_s):
                for price in candle.path():
                    yield delay_s, price
                    delay_s = spacing_s
            if not self.loop:
                return
