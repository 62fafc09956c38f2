"""The `ccxt_poll` feed source: one symbol's REST ticker polled from a ccxt exchange.

Thread boundary: the source is made at boot, but its sync ccxt client is made on the
first poll, on the feed actor's thread, and only that actor uses it (ccxt clients are not
thread-safe; a restarted feed gets the same source, never two feeds at once). Public
endpoints only, so no keys. An exchange error never fails the feed: it is logged and
counted, and the next poll waits longer (`Backoff`, honouring Retry-After on a 429/418).

The feed actor owns its client, as an `ExchangeActor` owns its account's through
`CcxtVenue`. Order books come through clients of their own (`order_book_client`, shared by
the streamed source), made, used and closed by the feed's book worker thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import ccxt

from trading.feeds.live_candles import BACKFILL_CANDLES, CANDLE_TIMEFRAME, RECENT_CANDLES, CandleBatch, CandleChanges
from trading.feeds.order_book import OrderBook
from trading.feeds.polled import Backoff, Quote
from trading.market_data import Candle
from trading.money import to_decimal
from trading.venues.ccxt_venue.order_book import fetch_order_book
from trading.venues.ccxt_venue.urls import overridden_urls

logger = logging.getLogger(__name__)

SPOT_ONLY_OPTIONS: dict[str, dict[str, Any]] = {
    # CCXT.md: Binance's spot markets in one request, no currency or margin calls.
    "binance": {
        "defaultType": "spot",
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
    },
}


class BadTicker(ValueError):
    """A ticker without a usable last price."""


def ticker_quote(ticker: Mapping[str, Any]) -> Quote:
    """A ccxt ticker as a `Quote` of exact Decimals; ccxt's floats go through `str`."""
    last = ticker.get("last") if ticker.get("last") is not None else ticker.get("close")
    if last is None:
        raise BadTicker(f"ticker of {ticker.get('symbol')} has no last price")
    quote = Quote(last=_price(last), bid=_optional(ticker.get("bid")), ask=_optional(ticker.get("ask")))
    if quote.last <= 0:
        raise BadTicker(f"ticker of {ticker.get('symbol')} has last price {quote.last}")
    return quote


class BadCandle(ValueError):
    """A ccxt OHLCV row that is not a usable candle."""


def ohlcv_candle(row: Any) -> Candle:
    """A ccxt OHLCV row `[ms, open, high, low, close, volume]` as a `Candle` of exact
    Decimals; ccxt's floats go through `str`."""
    try:
        open_ms, open_, high, low, close, volume = row[:6]
        values = [to_decimal(str(value)) for value in (open_, high, low, close, volume if volume is not None else 0)]
        candle = Candle(int(open_ms), *values)
    except (ValueError, TypeError) as error:
        raise BadCandle(f"bad candle {row!r}: {error}") from None
    if not 0 < candle.low <= min(candle.open, candle.close) or candle.high < max(candle.open, candle.close):
        raise BadCandle(f"bad candle {row!r}: its low and high do not span open and close")
    return candle


def _price(value: Any) -> Decimal:
    try:
        return to_decimal(str(value))
    except (ValueError, TypeError) as error:
        raise BadTicker(str(error)) from None


def _optional(value: Any) -> Decimal | None:
    """A bid or ask; a missing or zero one (an empty book side) is None."""
    if value is None:
        return None
    price = _price(value)
    return price if price > 0 else None


class PublicTickerSource:
    """What the polled and the streamed source share: one symbol of one exchange's public
    endpoints (no keys), a client configured the same way, and failures that are counted,
    logged and answered with the next `Backoff` delay instead of ending the feed."""

    def __init__(
        self, *, exchange: str, symbol: str, known: Iterable[str], unknown: str, timeout_s: float, sandbox: bool,
        urls: Mapping[str, str] | None, backoff: Backoff,
    ) -> None:
        if exchange not in known:
            raise ValueError(unknown.format(exchange=exchange))
        self.exchange_id = exchange
        self.symbol = symbol
        self.timeout_s = timeout_s
        self.sandbox = sandbox
        self.urls = dict(urls or {})
        if self.urls:
            overridden_urls({}, self.urls)  # a malformed base fails at boot, not on a poll
        self.backoff = backoff
        self.errors = 0
        self.last_error: str | None = None

    def _configured(self, klass: Any, options: Mapping[str, Any]) -> Any:
        """A client of `klass` (ccxt or ccxt.pro) for this exchange, spot only, on the
        overridden URLs; ccxt's own retries off, as they would hide failures from the backoff."""
        client = klass({
            "enableRateLimit": True,
            "timeout": int(self.timeout_s * 1000),
            "options": {"maxRetriesOnFailure": 0, **SPOT_ONLY_OPTIONS.get(self.exchange_id, {}), **options},
        })
        if self.sandbox:
            client.set_sandbox_mode(True)
        if self.urls:
            client.urls = overridden_urls(client.urls, self.urls)
        return client

    def order_book_client(self) -> CcxtOrderBookClient:
        """A new REST client for the symbol's books, for the one thread that uses it
        (`actors.order_books`): never the client the prices come through."""
        return CcxtOrderBookClient(self._rest_client(), self.symbol)

    def _rest_client(self) -> ccxt.Exchange:
        """A sync ccxt client for this exchange, configured as every other."""
        client = self._configured(getattr(ccxt, self.exchange_id), {})
        if self.urls:
            client.session.trust_env = False  # no proxy variable may capture a local URL
        return client

    def _failed(
        self, error: Exception, what: str, client: Any = None, backoff: Backoff | None = None,
    ) -> float:
        """Count and log a failure; the seconds to wait before trying again, by `backoff`
        (the source's own unless a task with a backoff of its own failed) and by the
        Retry-After of `client`'s last answer when the exchange said to slow down. Only
        the ticker's own failures count as `errors`; a side task's count as its backoff's."""
        backoff = backoff if backoff is not None else self.backoff
        if backoff is self.backoff:
            self.errors += 1
        self.last_error = f"{type(error).__name__}: {str(error)[:200]}"
        delay = backoff.failed(retry_after(client) if isinstance(error, ccxt.DDoSProtection) else None)
        # Network trouble is expected now and then; anything else is likely config (a bad
        # symbol, a wrong URL) and worth a louder line, but still retried.
        level = logging.WARNING if isinstance(error, (ccxt.NetworkError, BadTicker, BadCandle)) else logging.ERROR
        logger.log(
            level, "%s %s: %s failed (%d in a row, %d in all), again in %.2fs: %s",
            self.exchange_id, self.symbol, what, backoff.failures, self.errors, delay, self.last_error,
        )
        return delay


def retry_after(client: Any) -> float | None:
    """The seconds the exchange's last answer to `client` asked to wait, if it said."""
    headers = getattr(client, "last_response_headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class CcxtOrderBookClient:
    """One symbol's books through a sync ccxt client of their own; an `OrderBookClient`.
    Used by one thread only, which closes it."""

    def __init__(self, client: ccxt.Exchange, symbol: str) -> None:
        self.client = client
        self.symbol = symbol
        self.closed = False

    def order_book(self, depth: int) -> OrderBook:
        return fetch_order_book(self.client, self.symbol, depth)

    def close(self) -> None:
        """Close the client's HTTP connections (a sync ccxt client keeps a requests.Session)."""
        self.closed = True
        session = getattr(self.client, "session", None)
        if session is not None:
            session.close()


class CcxtPollSource(PublicTickerSource):
    """Polls `fetch_ticker(symbol)` every `interval_s`; a `PolledSource` for the feed actor.

    With `candles`, a poll every `candle_interval_s` also fetches the 1m candles from the
    newest one it has seen (`fetch_ohlcv(symbol, '1m', since=...)`: that one, now closed,
    and any after it), with the same client and the same backoff; the first poll fetches a
    backfill instead. (Every poll would double the feed's cost to the exchange's rate limit,
    which a live account on the same IP shares.) The
    new or changed ones wait for the feed actor's `take_candles` (a `PolledCandles`).
    """

    def __init__(
        self,
        *,
        exchange: str,
        symbol: str,
        interval_s: float,
        max_backoff_s: float = 60.0,
        timeout_s: float = 10.0,
        sandbox: bool = False,
        urls: Mapping[str, str] | None = None,
        backoff: Backoff | None = None,
        candles: bool = True,
        candle_interval_s: float = 15.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            exchange=exchange, symbol=symbol, known=ccxt.exchanges, unknown="ccxt has no exchange {exchange!r}",
            timeout_s=timeout_s, sandbox=sandbox, urls=urls,
            backoff=backoff if backoff is not None else Backoff(interval_s, max(max_backoff_s, interval_s)),
        )
        self.polls = 0
        self.candles = candles
        self.candle_interval_s = candle_interval_s
        self.candle_backoff = Backoff(self.backoff.interval_s, self.backoff.max_s, self.backoff.jitter)
        self._monotonic = monotonic
        self._candles_at = float("-inf")
        self._client: ccxt.Exchange | None = None
        self._candle_changes = CandleChanges()
        self._backfilled = False
        self._candle_batches: list[CandleBatch] = []

    def poll(self) -> tuple[Quote | None, float]:
        self.polls += 1
        try:
            client = self._client if self._client is not None else self._connect()
            client.load_markets()  # no request once loaded; retried here after a failure
            quote = ticker_quote(client.fetch_ticker(self.symbol))
        except (ccxt.BaseError, BadTicker) as error:
            return None, self._failed(error, "poll", self._client)
        if self.backoff.failures:
            logger.info("%s %s: answering again after %d failed polls", self.exchange_id, self.symbol, self.backoff.failures)
        if self.candles and self._monotonic() >= self._candles_at + self.candle_interval_s:
            self._poll_candles(client)
        return quote, self.backoff.succeeded()

    def _poll_candles(self, client: ccxt.Exchange) -> None:
        """Candles never cost the poll its price: a failure is counted and logged, and the
        next try waits for the candle interval or the candles' own backoff, the longer."""
        try:
            self._fetch_candles(client)
        except (ccxt.BaseError, BadCandle) as error:
            delay = self._failed(error, "candle poll", client, backoff=self.candle_backoff)
            self._candles_at = self._monotonic() + max(delay - self.candle_interval_s, 0.0)
            return
        self.candle_backoff.succeeded()

    def take_candles(self) -> list[CandleBatch]:
        batches, self._candle_batches = self._candle_batches, []
        return batches

    def restart_candles(self) -> None:
        self._candle_changes.clear()
        self._backfilled = False
        self._candles_at = float("-inf")
        self._candle_batches = []

    def _fetch_candles(self, client: ccxt.Exchange) -> None:
        """Fetch the candles due and keep the new or changed ones for `take_candles`; a
        failure raises before anything is kept, so the next poll asks again."""
        since = self._candle_changes.newest_open_ms if self._backfilled else None
        limit = RECENT_CANDLES if self._backfilled else BACKFILL_CANDLES
        rows = client.fetch_ohlcv(self.symbol, CANDLE_TIMEFRAME, since=since, limit=limit)
        candles = [ohlcv_candle(row) for row in rows]
        fresh = self._candle_changes.fresh(candles)
        if fresh or not self._backfilled:
            self._candle_batches.append(CandleBatch(tuple(fresh), backfill=not self._backfilled))
        self._backfilled = True
        self._candles_at = self._monotonic()

    def _connect(self) -> ccxt.Exchange:
        """The ccxt client, made on the polling thread (see the module docstring)."""
        client = self._rest_client()
        if self.candles and not client.has.get("fetchOHLCV"):
            logger.warning("%s has no fetchOHLCV: the %s feed polls tickers only", self.exchange_id, self.symbol)
            self.candles = False
        self._client = client
        return client
