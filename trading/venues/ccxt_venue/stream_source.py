"""The `ccxt_stream` feed source: one symbol's ticker streamed by ccxt.pro's `watch_ticker`.

Thread boundary: ccxt.pro clients are asyncio and not thread-safe, so each `stream` run
makes its own client inside the event loop that runs it (the feed actor's stream thread)
and closes it when the run ends, cancelled or not. Public streams only, so no keys.

A disconnect or an exchange error never ends the run: it is logged and counted, and the
next `watch_ticker` (which dials again: ccxt.pro drops a closed connection) waits with
`Backoff`, so a feed does not hammer an exchange that is down, and feeds do not retry in step.

With `candles`, a second task in the same run watches `watch_ohlcv(symbol, '1m')` on the
same client, with a backoff of its own (a stream that fails must not slow the other), after
one REST backfill (`fetch_ohlcv`) per run. Both tasks end, and the client closes, together.
An exchange without `watchOHLCV` streams tickers only (said once, as a warning). Candle failures
count against the candles' backoff, never as the ticker's `errors`.

The order book comes over REST from a sync ccxt client of its own (`order_book_client`,
shared with the poll source), made, used and closed by the feed's book worker thread, not
from the stream's ccxt.pro client: that one lives only as long as a `stream` run, and
reaching into its loop would tie each book to the stream's health.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, Union

import ccxt
import ccxt.pro as ccxtpro

from trading.feeds.live_candles import BACKFILL_CANDLES, CANDLE_TIMEFRAME, CandleBatch, CandleChanges
from trading.feeds.polled import Backoff, Quote
from trading.venues.ccxt_venue.ticker_source import (
    BadCandle, BadTicker, PublicTickerSource, ohlcv_candle, ticker_quote,
)

logger = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 2.0

STREAM_OPTIONS: dict[str, dict[str, Any]] = {
    # Binance's `@ticker` stream carries the best bid and ask; ccxt's default `@miniTicker` does not.
    "binance": {"watchTickers": {"name": "ticker"}},
}


Deliver = Callable[[Union[Quote, CandleBatch]], None]


class CcxtStreamSource(PublicTickerSource):
    """Streams `watch_ticker(symbol)`, and with `candles` `watch_ohlcv(symbol, '1m')`; a
    `StreamedSource` for the feed actor (`deliver` gets quotes and `CandleBatch`es)."""

    def __init__(
        self,
        *,
        exchange: str,
        symbol: str,
        reconnect_s: float = 1.0,
        max_backoff_s: float = 60.0,
        timeout_s: float = 10.0,
        sandbox: bool = False,
        urls: Mapping[str, str] | None = None,
        backoff: Backoff | None = None,
        candles: bool = True,
    ) -> None:
        super().__init__(
            exchange=exchange, symbol=symbol, known=ccxtpro.exchanges, unknown="ccxt.pro has no streaming exchange {exchange!r}",
            timeout_s=timeout_s, sandbox=sandbox,
            urls=urls, backoff=backoff if backoff is not None else Backoff(reconnect_s, max(max_backoff_s, reconnect_s)),
        )
        self.received = 0
        self.candles = candles
        self.candle_backoff = Backoff(self.backoff.interval_s, self.backoff.max_s, self.backoff.jitter)
        self.candles_received = 0

    async def stream(self, deliver: Deliver) -> None:
        client = self._client()
        self._check_candles(client)
        watchers = [asyncio.ensure_future(self._watch_tickers(client, deliver))]
        if self.candles:
            watchers.append(asyncio.ensure_future(self._watch_candles(client, deliver)))
        try:
            await asyncio.gather(*watchers)
        finally:
            for watcher in watchers:
                watcher.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
            await self._close(client)

    async def _watch_tickers(self, client: ccxtpro.Exchange, deliver: Deliver) -> None:
        while True:
            try:
                quote = ticker_quote(await client.watch_ticker(self.symbol))
            except (ccxt.BaseError, BadTicker) as error:
                await asyncio.sleep(self._failed(error, "stream"))
                continue
            if self.backoff.failures:
                logger.info("%s %s: streaming again after %d failures", self.exchange_id, self.symbol,
                            self.backoff.failures)
                self.backoff.succeeded()
            self.received += 1
            deliver(quote)

    def _check_candles(self, client: ccxtpro.Exchange) -> None:
        """Turn the candles off, once, on an exchange that cannot stream them: each watch
        would fail with NotSupported, after every backoff, forever."""
        if self.candles and not client.has.get("watchOHLCV"):
            logger.warning("%s has no watchOHLCV: the %s feed streams tickers only, without candles",
                           self.exchange_id, self.symbol)
            self.candles = False

    async def _watch_candles(self, client: ccxtpro.Exchange, deliver: Deliver) -> None:
        """Backfill once, then deliver each new or changed 1m candle the stream pushes.
        A failed backfill is logged and skipped: the stream's candles matter more."""
        changes = CandleChanges()
        try:
            rows = await client.fetch_ohlcv(self.symbol, CANDLE_TIMEFRAME, limit=BACKFILL_CANDLES)
            deliver(CandleBatch(tuple(changes.fresh(ohlcv_candle(row) for row in rows)), backfill=True))
        except (ccxt.BaseError, BadCandle) as error:
            await asyncio.sleep(self._failed(error, "candle backfill", client, backoff=self.candle_backoff))
        while True:
            try:
                candles = [ohlcv_candle(row) for row in await client.watch_ohlcv(self.symbol, CANDLE_TIMEFRAME)]
            except (ccxt.BaseError, BadCandle) as error:
                await asyncio.sleep(self._failed(error, "candle stream", backoff=self.candle_backoff))
                continue
            if self.candle_backoff.failures:
                logger.info("%s %s: streaming candles again after %d failures", self.exchange_id, self.symbol,
                            self.candle_backoff.failures)
                self.candle_backoff.succeeded()
            fresh = changes.fresh(candles)
            if fresh:
                self.candles_received += len(fresh)
                deliver(CandleBatch(tuple(fresh)))

    async def _close(self, client: ccxtpro.Exchange) -> None:
        """Close the client, but not for longer than `CLOSE_TIMEOUT_S`: a websocket close
        waits for the peer's answer, and a peer that vanished would hold up the feed's stop."""
        try:
            await asyncio.wait_for(client.close(), CLOSE_TIMEOUT_S)
        except (asyncio.TimeoutError, ccxt.BaseError, OSError) as error:
            logger.warning("%s %s: closing the stream client: %s", self.exchange_id, self.symbol,
                           type(error).__name__)

    def _client(self) -> ccxtpro.Exchange:
        return self._configured(getattr(ccxtpro, self.exchange_id), STREAM_OPTIONS.get(self.exchange_id, {}))

