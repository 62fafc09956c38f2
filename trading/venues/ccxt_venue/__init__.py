"""Everything of traderd that talks ccxt, in one package (DESIGN.md: ccxt stays here).

- `venue`: `CcxtVenue`, an account on a live exchange behind the venue interface;
- `ticker_source`: the `ccxt_poll` feed's source of one symbol's REST ticker;
- `stream_source`: the `ccxt_stream` feed's source, ccxt.pro `watch_ticker` over a websocket;
- `order_book`: a symbol's order book from a feed's sync client, as Decimals and domain errors;
- `key_check`: checking an account's keys with its exchange (a balance fetch);
- `catalog`: the exchange ids and capabilities the API lists, offline;
- `urls`: re-hosting an exchange's API URLs (testnets, proxies, the local fake).
"""

from trading.venues.ccxt_venue.venue import CcxtSettings, CcxtVenue, unsupported_reason

__all__ = ["CcxtSettings", "CcxtVenue", "unsupported_reason"]
