"""Exchanges and market data (API.md "Market data").

Prices come from the daemon's running feeds and candles from the CSV files its replay
feeds read, or else the 1m candles its ccxt feeds keep (`api.live_candles`), resampled;
nothing here calls an exchange. Order books come from the exchange of a ccxt feed,
fetched by that feed's book worker (`api.order_book`).
"""

from __future__ import annotations

import bisect
import functools
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from api.endpoint import endpoint
from api.errors import ApiError
from api.live_candles import live_candles, live_klines
from api.prices import latest_prices, path_symbol
from api.schemas.market import (
    ExchangeList,
    ExchangeOut,
    KlineQuery,
    KlinesOut,
    MarketList,
    MarketOut,
    MultiKlineQuery,
    MultiKlinesOut,
    TickerList,
    TickerOut,
    TickerQuery,
    TickersQuery,
)
from api.scope import ScopedHandler
from trading.feeds.candles import read_candles
from trading.feeds.resample import INTERVALS_MS, base_interval_ms, resample
from trading.venues.ccxt_venue.catalog import describe_exchanges
from trading.venues.paper_markets import known_symbols, paper_market

PAPER_HAS: dict[str, bool | str | None] = {
    "spot": True, "createOrder": True, "createLimitOrder": True, "createMarketOrder": True, "cancelOrder": True,
    "fetchBalance": True, "fetchOpenOrders": True, "fetchMyTrades": True, "fetchTicker": False,
    "fetchOHLCV": False, "fetchOrderBook": False, "sandbox": False,
}
"""What traderd's own paper exchange can do, in ccxt's vocabulary."""


@functools.cache
def exchange_catalog() -> tuple[ExchangeOut, ...]:
    """`paper` and every ccxt exchange with its `has` (no network). Built once, in the
    executor: it imports ccxt."""
    live = [ExchangeOut(id=exchange_id, name=name, has=has) for exchange_id, name, has in describe_exchanges()]
    return (ExchangeOut(id="paper", name="traderd paper exchange", has=PAPER_HAS), *live)


@functools.lru_cache(maxsize=32)
def _candles(path: str, mtime_ns: int) -> tuple[Any, ...]:
    """A candle file's candles, read once per version of the file."""
    return tuple(read_candles(path))


def _open_time(candle: Any) -> int:
    return candle.open_time_ms


def klines(candle_files: dict[str, Path], symbol: str, interval: str, limit: int) -> list[list[Any]]:
    """The last `limit` candles of `symbol` at `interval`, from its replay file (blocking:
    run it in the executor). 404 without a file, 422 for an interval finer than it."""
    path = candle_files.get(symbol)
    if path is None:
        raise ApiError(404, "NOT_FOUND", f"no candle data for {symbol}: no replay feed reads a file of it, no ccxt feed has its candles")
    candles = _candles(str(path), os.stat(path).st_mtime_ns)
    step = INTERVALS_MS[interval]
    base = base_interval_ms(list(candles[:1000]))
    if step < base or step % base:
        raise ApiError(422, "VALIDATION_ERROR", f"{symbol} has {base // 60000}m candles; {interval} cannot be made of them", {
            "errors": [{"loc": ["query", "interval"], "msg": "finer than the data or not a multiple of it"}],
        })
    # Only the tail is resampled: the candles of the last `limit` buckets in time.
    last_start = candles[-1].open_time_ms - candles[-1].open_time_ms % step
    tail = candles[bisect.bisect_left(candles, last_start - (limit - 1) * step, key=_open_time):]
    return [[c.open_time_ms, c.open, c.high, c.low, c.close, c.volume] for c in resample(tail, step)[-limit:]]


async def symbol_klines(
    handler: ScopedHandler, candle_files: dict[str, Path], symbol: str, intervals: list[str], limit: int,
) -> dict[str, list[list[Any]]]:
    """`klines` at each interval, from a replay file when there is one, else from a ccxt
    feed's candles (asked for once); 404 when neither has the symbol."""
    candles = await live_candles(handler.context.actors, symbol) if symbol not in candle_files else ()
    if candles:
        return {interval: await handler.in_executor(live_klines, candles, interval, limit) for interval in intervals}
    return {interval: await handler.in_executor(klines, candle_files, symbol, interval, limit) for interval in intervals}


class ExchangesHandler(ScopedHandler):
    @endpoint("Supported exchanges", response=ExchangeList, tags=("market",))
    async def get(self) -> None:
        """ccxt's exchange ids and `paper`, with their `has` capabilities."""
        items = await self.in_executor(exchange_catalog)
        self.write_model(ExchangeList(items=list(items), total=len(items)))


class MarketsHandler(ScopedHandler):
    @endpoint("Markets of an exchange", response=MarketList, errors=("NOT_FOUND",), tags=("market",))
    async def get(self, exchange: str) -> None:
        """The paper exchange's markets with their rules. A ccxt exchange's markets need a
        network call the daemon makes only for exchanges it trades on; none yet, so 404."""
        if exchange != "paper":
            known = {item.id for item in await self.in_executor(exchange_catalog)}
            if exchange in known:
                raise ApiError(404, "NOT_FOUND", f"the daemon has not loaded the markets of {exchange}: it trades no account there")
            raise ApiError(404, "NOT_FOUND", f"no exchange {exchange!r}")
        items = []
        for symbol in known_symbols():
            market = paper_market(symbol, Decimal(0), Decimal(0))
            items.append(MarketOut(
                symbol=symbol, base=market.base, quote=market.quote, tick_size=market.tick_size,
                step_size=market.step_size, min_amount=market.min_amount, min_notional=market.min_notional,
            ))
        self.write_model(MarketList(exchange=exchange, items=items, total=len(items)))


def _ticker(quote: Any) -> TickerOut:
    return TickerOut(
        symbol=quote.symbol, last=quote.price, bid=None, ask=None, change_24h=None, volume_24h=None,
        high_24h=None, low_24h=None, timestamp=None if quote.ts_ns is None else quote.ts_ns // 1_000_000, feed=quote.feed_id,
    )


class TickerHandler(ScopedHandler):
    @endpoint("Latest price of a symbol", query=TickerQuery, response=TickerOut, errors=("NOT_FOUND",), tags=("market",))
    async def get(self, symbol: str) -> None:
        """From the feed that carries the symbol; the feeds give last prices only, so the
        24h figures and bid/ask are null."""
        symbol = path_symbol(symbol)
        self.parse_query(TickerQuery)
        quote = (await latest_prices(self.context.actors)).get(symbol)
        if quote is None:
            raise ApiError(404, "NOT_FOUND", f"no feed has a price of {symbol}")
        self.write_model(_ticker(quote))


class TickersHandler(ScopedHandler):
    @endpoint("Latest prices", query=TickersQuery, response=TickerList, tags=("market",))
    async def get(self) -> None:
        query = self.parse_query(TickersQuery)
        prices = await latest_prices(self.context.actors)
        wanted = None if not query.symbols else {path_symbol(s) for s in query.symbols.split(",") if s.strip()}
        items = [_ticker(q) for symbol, q in sorted(prices.items()) if wanted is None or symbol in wanted]
        self.write_model(TickerList(items=items, total=len(items)))


class KlinesHandler(ScopedHandler):
    @endpoint("Candles of a symbol", query=KlineQuery, response=KlinesOut, errors=("NOT_FOUND",), tags=("market",))
    async def get(self, symbol: str) -> None:
        """From the candle file a replay feed plays, else a ccxt feed's exchange candles,
        resampled to `interval` (epoch-aligned buckets); the newest `limit`, oldest first."""
        symbol = path_symbol(symbol)
        query = self.parse_query(KlineQuery)
        data = (await symbol_klines(self, dict(self.context.candle_files), symbol, [query.interval], query.limit))[query.interval]
        self.write_model(KlinesOut(symbol=symbol, interval=query.interval, data=data))


class MultiKlinesHandler(ScopedHandler):
    @endpoint("Candles of a symbol at several intervals", query=MultiKlineQuery, response=MultiKlinesOut, errors=("NOT_FOUND",), tags=("market",))
    async def get(self) -> None:
        query = self.parse_query(MultiKlineQuery)
        symbol = path_symbol(query.symbol)
        timeframes = [tf.strip() for tf in query.timeframes.split(",") if tf.strip()]
        unknown = [tf for tf in timeframes if tf not in INTERVALS_MS]
        if unknown or not timeframes:
            raise ApiError(422, "VALIDATION_ERROR", f"unknown timeframes {unknown}; use {', '.join(INTERVALS_MS)}", {
                "errors": [{"loc": ["query", "timeframes"], "msg": "unknown timeframe"}],
            })
        files = dict(self.context.candle_files)
        data = await symbol_klines(self, files, symbol, timeframes, query.limit)
        self.write_model(MultiKlinesOut(symbol=symbol, data=data))
