"""The `ccxt_stream` feed source: one symbol's ticker streamed by ccxt.pro's `watch_ticker`.

Thread boundary: ccxt.pro clients are asyncio and not thread-safe, so each `stream` run
makes its own client inside the event loop that runs it (the feed actor's stream thread)
and closes it when the run ends, cancelled or not. Public streams only, so no keys.

A disconnect or an exchange error never ends the run: it is logged and counted, and the
next `watch_ticker` (which dials again: ccxt.pro drops a closed connection) waits with
`Backoff`, so a feed does not hammer an exchange that is down, and feeds do not retry in step.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

import ccxt
import ccxt.pro as ccxtpro

from trading.feeds.polled import Backoff, Quote
from trading.venues.ccxt_venue.ticker_source import BadTicker, PublicTickerSource, ticker_quote

logger = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 2.0

STREAM_OPTIONS: dict[str, dict[str, Any]] = {
    # Binance's `@ticker` stream carries the best bid and ask; ccxt's default `@miniTicker` does not.
    "binance": {"watchTickers": {"name": "ticker"}},
}


class CcxtStreamSource(PublicTickerSource):
    """Streams `watch_ticker(symbol)`; a `StreamedSource` for the feed actor."""

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
    ) -> None:
        super().__init__(
            exchange=exchange, symbol=symbol, known=ccxtpro.exchanges, unknown="ccxt.pro has no streaming exchange {exchange!r}",
            timeout_s=timeout_s, sandbox=sandbox,
            urls=urls, backoff=backoff if backoff is not None else Backoff(reconnect_s, max(max_backoff_s, reconnect_s)),
        )
        self.received = 0

    async def stream(self, deliver: Callable[[Quote], None]) -> None:
        client = self._client()
        try:
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
        finally:
            await self._close(client)

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

