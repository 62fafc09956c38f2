"""Candles of the ccxt feeds, for `/market/klines`.

Each ccxt feed actor keeps its exchange's recent 1m candles in memory and answers
`GetFeedCandles` from there at once; the handler awaits the answers on the loop, as
`api/prices.py` does for the latest prices, so nothing here blocks the IOLoop or waits
on an exchange.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from actors.messages import FeedCandles, GetFeedCandles
from api.bridge import ActorGateway
from trading.feeds.resample import INTERVALS_MS, resample
from trading.market_data import Candle

logger = logging.getLogger(__name__)


async def live_candles(gateway: ActorGateway | None, symbol: str) -> tuple[Candle, ...]:
    """The recent 1m candles of `symbol` from the first feed that has some; () if none
    does. A feed that is down or slow is left out rather than failing the answer."""
    if gateway is None or not gateway.feeds:
        return ()
    for _, name, answer in await gateway.ask_feeds(lambda reply: GetFeedCandles(reply=reply)):
        if isinstance(answer, BaseException):
            logger.debug("no candles from %s: %r", name, answer)
            continue
        found: FeedCandles = answer
        if found.symbol == symbol and found.candles:
            return found.candles
    return ()


def live_klines(candles: Sequence[Candle], interval: str, limit: int) -> list[list[Any]]:
    """The newest `limit` candles at `interval`, resampled from 1m ones (oldest first)."""
    return [[c.open_time_ms, c.open, c.high, c.low, c.close, c.volume]
            for c in resample(candles, INTERVALS_MS[interval])[-limit:]]
