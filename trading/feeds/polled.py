"""Polled feed sources: prices asked of a venue when due, rather than a timeline played out.

A replay or random walk knows its prices in advance (`(delay_s, price)` steps); a venue
polled over REST does not, and it fails now and then. A `PolledSource` is asked for the
latest `Quote` when its poll is due and says how long to wait before the next one, which
grows with `Backoff` while the venue fails and drops back to the interval when it answers.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Quote:
    """A venue's latest price: the last trade, and the best bid and ask when it gives them."""

    last: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None


@runtime_checkable
class PolledSource(Protocol):
    """Asked by the feed actor, on the actor's own thread, whenever a poll is due."""

    def poll(self) -> tuple[Quote | None, float]:
        """The latest quote, or None when the venue failed (the source logs and counts
        that, it never raises for it), and the seconds to wait before the next poll."""
        ...


class Backoff:
    """The wait before the next poll: `interval_s` while all is well; after `n` failures
    in a row `interval_s * 2**n` up to `max_s`, spread by +-`jitter` so that feeds polling
    one venue do not retry in step, and never shorter than a `retry_after_s` it was given."""

    def __init__(
        self, interval_s: float, max_s: float, jitter: float = 0.2,
        random_fraction: Callable[[], float] = random.random,
    ) -> None:
        if interval_s <= 0 or max_s < interval_s or not 0 <= jitter < 1:
            raise ValueError(f"bad backoff: interval {interval_s}, max {max_s}, jitter {jitter}")
        self.interval_s = interval_s
        self.max_s = max_s
        self.jitter = jitter
        self._random = random_fraction
        self.failures = 0
        """Failures since the last success."""

    def succeeded(self) -> float:
        self.failures = 0
        return self.interval_s

    def failed(self, retry_after_s: float | None = None) -> float:
        self.failures += 1
        delay = min(self.interval_s * 2 ** min(self.failures, 32), self.max_s)
        delay *= 1 + self.jitter * (2 * self._random() - 1)
        return max(delay, retry_after_s or 0.0)
