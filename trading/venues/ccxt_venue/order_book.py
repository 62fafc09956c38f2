"""One symbol's order book from a sync ccxt client, as exact Decimals and domain errors.

The caller owns the client and calls this on the client's thread (ccxt clients are not
thread-safe). ccxt hands prices and amounts as floats; each goes through `str`, so
0.1 stays Decimal("0.1"). ccxt's exceptions stay in here: network trouble becomes
`ExchangeUnavailable`, any other exchange error `ExchangeRefused`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import ccxt

from trading.feeds.order_book import ExchangeRefused, ExchangeUnavailable, Level, OrderBook
from trading.money import to_decimal

logger = logging.getLogger(__name__)


def fetch_order_book(client: ccxt.Exchange, symbol: str, depth: int) -> OrderBook:
    """`client.fetch_order_book(symbol, depth)`, the markets loaded first (no request
    once they are), at most `depth` levels a side."""
    exchange = client.id
    try:
        client.load_markets()
        raw = client.fetch_order_book(symbol, depth)
    except ccxt.NetworkError as error:  # timeouts, 5xx, maintenance, 429s: all worth a retry later
        logger.warning("%s %s: order book unavailable: %s", exchange, symbol, _brief(error))
        raise ExchangeUnavailable(f"{exchange} did not answer ({type(error).__name__})") from None
    except ccxt.BaseError as error:
        logger.error("%s %s: order book refused: %s", exchange, symbol, _brief(error))
        raise ExchangeRefused(f"{exchange} refused the order book of {symbol} ({type(error).__name__})") from None
    try:
        return book_from_ccxt(raw, symbol, exchange, depth, now_ms=client.milliseconds())
    except (ValueError, TypeError, IndexError) as error:
        raise ExchangeRefused(f"{exchange} sent an order book of {symbol} traderd cannot read: {error}") from None


def book_from_ccxt(raw: Mapping[str, Any], symbol: str, exchange: str, depth: int, *, now_ms: int) -> OrderBook:
    """ccxt's unified book (`{'bids': [[price, amount, ...], ...], 'asks': ..., 'timestamp'}`)
    as an `OrderBook`: sorted best first, cut to `depth`, timestamped `now_ms` when the
    exchange gives no time (Binance's REST depth does not)."""
    timestamp = raw.get("timestamp")
    book = OrderBook.of(
        symbol, exchange, _levels(raw.get("bids") or ()), _levels(raw.get("asks") or ()),
        int(timestamp) if timestamp is not None else now_ms,
    )
    return book.top(depth)


def _levels(rows: Sequence[Sequence[Any]]) -> list[Level]:
    return [(to_decimal(str(row[0])), to_decimal(str(row[1]))) for row in rows]


def _brief(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error)[:200]}"
