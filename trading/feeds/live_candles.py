"""Live 1m candles from a venue (the `ccxt_poll` and `ccxt_stream` feeds), as pure parts.

A venue answers the same candle again and again (a poll returns the open candle until it
closes; a stream resends it with every trade). Three small pieces keep that honest:

- `CandleChanges` (in the source): passes on each candle only when it is new or its values
  changed, so the feed actor gets every version once.
- `CandleReach` (in the feed actor): the price range a candle update newly reached, so a
  paper order fills on a low it really touched, and never twice on the same low: the
  candle's full range the first time it is seen, later only where it widened.
- `CandleHistory` (in the feed actor): the recent candles, bounded, for the klines API.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from trading.market_data import Candle

CANDLE_TIMEFRAME = "1m"
CANDLE_MS = 60_000
BACKFILL_CANDLES = 500
"""Candles asked for when a feed starts: history for the klines API, not prices to trade on."""
RECENT_CANDLES = 100
"""Candles asked for by a poll after the backfill, from the newest one seen: a few at most
in the normal run, and the lightest request weight (Binance: 1 up to 100)."""
KEPT_CANDLES = 1000
"""Candles a feed keeps in memory for the klines API."""


@dataclass(frozen=True)
class CandleBatch:
    """1m candles from a venue, oldest first; the newest may still be open. A `backfill`
    batch is history from before the feed started: it is kept, never traded on."""

    candles: tuple[Candle, ...]
    backfill: bool = False


@runtime_checkable
class PolledCandles(Protocol):
    """A polled source that also fetches candles in its `poll`; the feed actor takes them
    right after each poll, on the same thread."""

    def take_candles(self) -> list[CandleBatch]:
        """The batches fetched since the last take (a backfill first after a restart)."""
        ...

    def restart_candles(self) -> None:
        """Forget what was delivered: a new feed actor starts with an empty history."""
        ...


class CandleChanges:
    """Remembers the last version of each recent candle, to pass on only the new or changed."""

    def __init__(self, keep: int = KEPT_CANDLES) -> None:
        self.keep = keep
        self._seen: dict[int, Candle] = {}

    def fresh(self, candles: Iterable[Candle]) -> list[Candle]:
        """The candles not seen before in exactly these values, in the order given."""
        changed = []
        for candle in candles:
            if self._seen.get(candle.open_time_ms) != candle:
                self._seen[candle.open_time_ms] = candle
                changed.append(candle)
        if len(self._seen) > 2 * self.keep:
            for open_time in sorted(self._seen)[:-self.keep]:
                del self._seen[open_time]
        return changed

    @property
    def newest_open_ms(self) -> int | None:
        """The open time of the newest candle seen (where the next poll starts)."""
        return max(self._seen) if self._seen else None

    def clear(self) -> None:
        self._seen.clear()


class CandleReach:
    """The price range each candle update newly reached (see the module docstring)."""

    def __init__(self, keep: int = 16) -> None:
        self.keep = keep
        self._reached: dict[int, tuple[Decimal, Decimal]] = {}

    def prime(self, candles: Iterable[Candle]) -> None:
        """Take `candles` as already reached (a backfill: prices from before the feed)."""
        for candle in candles:
            self._remember(candle, candle.low, candle.high)

    def reached(self, candle: Candle) -> tuple[Decimal, Decimal] | None:
        """`(low, high)` of the prices this version of `candle` adds, or None if it adds
        none. A widened side comes with the other side's nearest already-reached price
        (the path went on from there), so the range stays one interval."""
        before = self._reached.get(candle.open_time_ms)
        if before is None:
            self._remember(candle, candle.low, candle.high)
            return candle.low, candle.high
        low, high = before
        if candle.low >= low and candle.high <= high:
            return None
        self._remember(candle, min(low, candle.low), max(high, candle.high))
        if candle.low < low and candle.high > high:
            return candle.low, candle.high
        if candle.low < low:
            return candle.low, low
        return high, candle.high

    def _remember(self, candle: Candle, low: Decimal, high: Decimal) -> None:
        self._reached[candle.open_time_ms] = (low, high)
        if len(self._reached) > 2 * self.keep:
            for open_time in sorted(self._reached)[:-self.keep]:
                del self._reached[open_time]


class CandleHistory:
    """The newest `limit` candles, oldest first; a newer version of one replaces it.

    Used by one thread (the feed actor's); readers get a copy through a query.
    """

    def __init__(self, limit: int = KEPT_CANDLES) -> None:
        self.limit = limit
        self._by_open: dict[int, Candle] = {}

    def add(self, candles: Iterable[Candle]) -> None:
        for candle in candles:
            self._by_open[candle.open_time_ms] = candle
        if len(self._by_open) > self.limit:
            for open_time in sorted(self._by_open)[:-self.limit]:
                del self._by_open[open_time]

    def candles(self) -> tuple[Candle, ...]:
        return tuple(self._by_open[t] for t in sorted(self._by_open))

    def __len__(self) -> int:
        return len(self._by_open)

    def clear(self) -> None:
        self._by_open.clear()
