"""Latest prices, from the running feeds: each feed actor is asked for its status
(`GetFeedStatus`, answered at once from the actor's memory), all at the same time."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from actors.messages import FeedStatus, GetFeedStatus
from api.bridge import ActorGateway

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Quote:
    symbol: str
    feed_id: str
    price: Decimal
    ts_ns: int | None


async def latest_prices(gateway: ActorGateway | None) -> dict[str, Quote]:
    """Symbol -> its latest price, over every feed that has one. A feed that is down or
    slow is left out rather than failing the whole answer."""
    if gateway is None or not gateway.feeds:
        return {}
    prices: dict[str, Quote] = {}
    for feed_id, name, answer in await gateway.ask_feeds(lambda reply: GetFeedStatus(reply=reply)):
        if isinstance(answer, BaseException):
            logger.debug("no price from %s: %r", name, answer)
            continue
        status: FeedStatus = answer
        if status.last_price is not None and status.symbol not in prices:
            prices[status.symbol] = Quote(status.symbol, feed_id, status.last_price, status.last_event_ns)
    return prices


def path_symbol(text: str) -> str:
    """A symbol from a URL path: `BTC-USDT` and `BTC/USDT` (percent-decoded) alike."""
    text = text.strip().upper()
    if "/" in text:
        return text
    base, dash, quote = text.rpartition("-")
    return f"{base}/{quote}" if dash else text
