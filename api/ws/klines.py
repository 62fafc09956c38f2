"""`kline:{symbol}:{interval}`: candles built from the tickers the relay already hands over.

The feeds publish prices, not candles, so the outlet keeps one in-progress bar per
(symbol, interval) and updates it from every relayed `TickerUpdated`, on the relay's
thread (only `RelayOutlet.push` calls `update`: no lock). A bar opens at the ticker's
feed time (`ts_event`) rounded down to the interval, UTC-aligned, so a replay gets the
bars of its own history. `low`/`high` of a conflated ticker are taken in, so a relay that
fell behind still shows the extremes it skipped; the first update of a bar opens it at its
`last` (what came before belongs to the previous bar as far as the relay can tell).

The in-progress bar is market data (conflated, latest wins per channel); the finished
bar is sent once with `closed: true` and always arrives. Volume is `"0"`: tickers carry
no traded volume.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from api.ws.wire import Outgoing, encode, message
from trading.feeds.resample import INTERVALS_MS

ZERO = Decimal(0)


def kline_channel(symbol: str, interval: str) -> str:
    """`BTC/USDT`, `1m` -> `kline:BTC-USDT:1m`."""
    return f"kline:{symbol.replace('/', '-')}:{interval}"


class Bar:
    __slots__ = ("t", "o", "h", "l", "c")

    def __init__(self, t: int, o: Decimal, h: Decimal, low: Decimal, c: Decimal) -> None:
        self.t, self.o, self.h, self.l, self.c = t, o, h, low, c

    def data(self, closed: bool) -> dict[str, Any]:
        return {"t": self.t, "o": self.o, "h": self.h, "l": self.l, "c": self.c, "v": ZERO, "closed": closed}


class KlineBook:
    """The in-progress bars; see the module docstring."""

    def __init__(self) -> None:
        self._bars: dict[tuple[str, str], Bar] = {}

    def update(self, ticker: Any) -> list[Outgoing]:
        """The messages one ticker makes: a closed bar where it starts a new one, and the
        in-progress bar of each interval."""
        ts_ms = ticker.ts_event // 1_000_000
        out = []
        for interval, length in INTERVALS_MS.items():
            open_ms = ts_ms - ts_ms % length
            key = (ticker.symbol, interval)
            channel = kline_channel(ticker.symbol, interval)
            bar = self._bars.get(key)
            if bar is not None and open_ms > bar.t:
                out.append(_outgoing(channel, ts_ms, bar, closed=True))
            if bar is None or open_ms != bar.t:  # the first, the next, or a replay starting over
                bar = self._bars[key] = Bar(open_ms, ticker.last, max(ticker.high, ticker.last), min(ticker.low, ticker.last), ticker.last)
            else:
                bar.h = max(bar.h, ticker.high, ticker.last)
                bar.l = min(bar.l, ticker.low, ticker.last)
                bar.c = ticker.last
            out.append(_outgoing(channel, ts_ms, bar, closed=False))
        return out


def _outgoing(channel: str, ts_ms: int, bar: Bar, closed: bool) -> Outgoing:
    payload = encode(message("kline", channel, ts_ms, data=bar.data(closed)))
    return Outgoing(channel, "kline", payload, conflate=None if closed else channel)
