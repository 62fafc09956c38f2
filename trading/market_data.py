"""Market data as the domain sees it: candles and ticker updates, exact decimals."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from trading.messages import Event


@dataclass(frozen=True)
class Candle:
    """One OHLCV candle; `open_time_ms` is the candle's start, epoch milliseconds UTC."""

    open_time_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    def path(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """The prices a candle is taken to have traded through, in order: open, the nearer
        extreme, the other extreme, close (the usual assumption of backtesters)."""
        if self.open - self.low <= self.high - self.open:
            return (self.open, self.low, self.high, self.close)
        return (self.open, self.high, self.low, self.close)


@dataclass(frozen=True)
class TickerUpdated(Event):
    """The latest price of a symbol. `low` and `high` span every price since the previous
    update its receiver saw, so a conflated stream still shows the extremes it skipped."""

    symbol: str
    last: Decimal
    low: Decimal
    high: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None

    def merged_with(self, newer: TickerUpdated) -> TickerUpdated:
        """`newer`, widened to the range both updates span (for conflation)."""
        return TickerUpdated(
            symbol=newer.symbol,
            last=newer.last,
            low=min(self.low, newer.low),
            high=max(self.high, newer.high),
            bid=newer.bid,
            ask=newer.ask,
            ts_event=newer.ts_event,
            ts_init=self.ts_init,
            correlation_id=newer.correlation_id,
        )
