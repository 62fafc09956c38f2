"""The daemon's own request budget per exchange account, on top of ccxt's rate limiter.

ccxt's `enableRateLimit` spaces requests to what the exchange allows in general; an
account may want less (a key shared with other tools, an exchange that weighs requests,
a polling interval set too eagerly). A token bucket: `per_minute` requests a minute,
with bursts up to that many; a request over the budget is not sent at all.
"""

from __future__ import annotations


class RequestBudget:
    def __init__(self, per_minute: int, now: float) -> None:
        if per_minute < 1:
            raise ValueError("a request budget needs at least one request a minute")
        self.capacity = float(per_minute)
        self.rate_per_s = per_minute / 60.0
        self._tokens = self.capacity
        self._at = now

    def take(self, now: float) -> float:
        """0 and one request spent when the budget allows it; otherwise the seconds until it
        will (nothing spent)."""
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate_per_s)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate_per_s
