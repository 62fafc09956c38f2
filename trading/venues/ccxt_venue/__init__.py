"""Everything of traderd that talks ccxt, in one package (DESIGN.md: ccxt stays here).

- `venue`: `CcxtVenue`, an account on a live exchange behind the venue interface;
- `ticker_source`: the `ccxt_poll` feed's source of one symbol's REST ticker;
- `stream_source`: the `ccxt_stream` feed's source, ccxt.pro `watch_ticker` over a websocket;
- `order_book`: a symbol's order book from a feed's sync client, as Decimals and domain errors;
- `key_check`: checking an account's keys with its exchange (a balance fetch);
- `catalog`: the exchange ids and capabilities the API lists, offline;
- `urls`: re-hosting an exchange's API URLs (testnets, proxies, the local fake).

The venue (and so ccxt, over half a second to import) loads on first use of `CcxtVenue`
or `unsupported_reason`: a daemon with only paper accounts never imports it.
"""

from typing import Any

from trading.venues.ccxt_venue.settings import CcxtSettings

__all__ = ["CcxtSettings", "CcxtVenue", "unsupported_reason"]


def __getattr__(name: str) -> Any:
    if name in ("CcxtVenue", "unsupported_reason"):
        from trading.venues.ccxt_venue import venue

        return getattr(venue, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
