"""Where a feed's prices come from, as pure iterables: candle replays and random walks.

A feed source is re-iterable: each `iter()` starts from the beginning and yields
`(delay_s, price)` steps, "wait `delay_s` seconds, then the price is `price`". The
`MarketFeedActor` paces them with the scheduler; a backtest can walk them without waiting.
"""

from __future__ import annotations

from decimal import Decimal

FeedStep = tuple[float, Decimal]
"""`(delay_s, price)`: seconds since the previous step (0 for the first), and the price."""
