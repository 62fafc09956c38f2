"""Made-up prices: a seeded geometric random walk in exact decimals.

Each step multiplies the price by `exp(volatility * z)`, z standard normal, so prices stay
positive and moves are proportional to the price. The factor enters `Decimal` through
`str` (the float's shortest repr), the product is exact, and the result is rounded to a
tick: the given `tick_size`, or else 8 significant digits of the start price.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from decimal import Decimal, localcontext

from trading.money import MONEY_CONTEXT, quantize_down, quantize_up

DEFAULT_SIGNIFICANT_DIGITS = 8


class RandomWalk:
    """An endless iterable of prices starting at `start_price` (rounded to the tick).

    Deterministic: the same arguments give the same prices, and each `iter()` starts the
    walk again from the start price and the seed. A price never falls below one tick.
    """

    def __init__(
        self,
        start_price: Decimal,
        volatility: float,
        seed: int,
        tick_size: Decimal | None = None,
    ) -> None:
        if not start_price > 0:
            raise ValueError(f"start price must be positive, got {start_price}")
        if not 0 <= volatility < 1:
            raise ValueError(f"volatility must be in [0, 1), got {volatility}")
        if tick_size is not None and not tick_size > 0:
            raise ValueError(f"tick size must be positive, got {tick_size}")
        self.volatility = volatility
        self.seed = seed
        self.tick_size = tick_size if tick_size is not None else Decimal(1).scaleb(
            start_price.adjusted() - DEFAULT_SIGNIFICANT_DIGITS + 1
        )
        self.start_price = self._on_tick(start_price)

    def __iter__(self) -> Iterator[Decimal]:
        rng = random.Random(self.seed)
        price = self.start_price
        while True:
            yield price
            factor = Decimal(str(math.exp(self.volatility * rng.gauss(0.0, 1.0))))
            with localcontext(MONEY_CONTEXT):
                price = self._on_tick(price * factor)

    def _on_tick(self, price: Decimal) -> Decimal:
        """`price` rounded to the nearest tick (half up), and at least one tick."""
        with localcontext(MONEY_CONTEXT):
            nearest = quantize_down(price + self.tick_size / 2, self.tick_size)
        return nearest if nearest > 0 else quantize_up(price, self.tick_size)
