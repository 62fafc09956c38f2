"""Channel names a client may subscribe to (API.md "WebSocket"), parsed and normalised."""

from __future__ import annotations

import re
from dataclasses import dataclass

from trading.feeds.resample import INTERVALS_MS

_SYMBOL = re.compile(r"^([A-Za-z0-9]{1,20})[-/]([A-Za-z0-9]{1,20})$")
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

SHARED = ("all_markets", "orders", "positions", "bots", "system")


@dataclass(frozen=True)
class Channel:
    """`name` is the normal form (`market:BTC-USDT`); `kind` is what metrics count by;
    `resource` is the bot or account id a `bot:` or `account:` channel is about."""

    name: str
    kind: str
    resource: str | None = None


class InvalidChannel(ValueError):
    """Not a channel this server serves; the message says why."""


def parse(raw: object) -> Channel:
    if not isinstance(raw, str) or not raw:
        raise InvalidChannel("a channel is a non-empty string")
    if raw in SHARED:
        return Channel(raw, raw)
    kind, _, rest = raw.partition(":")
    if kind == "kline":
        symbol, _, interval = rest.rpartition(":")
        match = _SYMBOL.match(symbol)
        if match is None or interval not in INTERVALS_MS:
            raise InvalidChannel(
                f"{raw[:80]!r}: a kline channel is kline:BASE-QUOTE:INTERVAL with an interval of {', '.join(INTERVALS_MS)}"
            )
        return Channel(f"kline:{match.group(1).upper()}-{match.group(2).upper()}:{interval}", "kline")
    if kind == "market":
        match = _SYMBOL.match(rest)
        if match is None:
            raise InvalidChannel(f"{raw!r}: a market channel is market:BASE-QUOTE, e.g. market:BTC-USDT")
        return Channel(f"market:{match.group(1).upper()}-{match.group(2).upper()}", "market")
    if kind in ("bot", "account"):
        if not _ID.match(rest):
            raise InvalidChannel(f"{raw!r}: expected {kind}:<id>")
        return Channel(raw, kind, rest)
    raise InvalidChannel(
        f"unknown channel {raw[:80]!r}: one of market:{{symbol}}, kline:{{symbol}}:{{interval}}, all_markets, orders, positions, bots, bot:{{id}}, "
        "account:{id}, system"
    )
