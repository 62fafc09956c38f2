"""Rate limits per client: a sliding-window log in memory (one process, one IOLoop).

A handler declares its class once, as `rate_limit` (see `BaseHandler`): a class name for
all its methods, or a dict from HTTP method to class name (`{"POST": "bot_create"}`;
methods it does not name are "general"), or None for routes that are never limited
(health, metrics, the docs). A class counts per caller: the user of the access token when
there is one, else the client's IP (login, refresh and register are anonymous).

The window is exact ("at most 5 in any 60 s"), unlike a token bucket's bursts: an auth
limit is a brute-force brake, and a client reading `X-RateLimit-Remaining` gets the same
answer the next request will. Refused requests do not count, so a client that waits
`Retry-After` seconds gets through. Only the IOLoop thread calls `hit`: no lock.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

GENERAL = "general"
AUTH = "auth"
BOT_CREATE = "bot_create"


@dataclass(frozen=True)
class Limit:
    """At most `requests` in any `window_s` seconds."""

    requests: int
    window_s: float


@dataclass(frozen=True)
class Verdict:
    """One request's outcome, with what the `X-RateLimit-*` headers tell."""

    allowed: bool
    limit: int
    remaining: int
    reset_after_s: float
    """Seconds until the oldest counted request leaves the window (Remaining grows again)."""

    @property
    def retry_after_s(self) -> int:
        """Whole seconds to wait before a refused request may succeed (at least 1)."""
        return max(1, math.ceil(self.reset_after_s))


@dataclass
class RateLimiter:
    """The limits by class name, and the log of recent requests per (class, caller).

    A class missing from `limits`, or with `requests <= 0`, is not limited.
    """

    limits: Mapping[str, Limit]
    now: Callable[[], float] = time.monotonic
    _log: dict[tuple[str, str], deque[float]] = field(default_factory=dict, init=False, repr=False)
    _next_sweep: float = field(default=-math.inf, init=False, repr=False)

    @classmethod
    def per_api_md(
        cls,
        *,
        general_per_minute: int = 1200,
        auth_per_minute: int = 5,
        bot_create_per_hour: int = 10,
        now: Callable[[], float] = time.monotonic,
    ) -> RateLimiter:
        """The classes of API.md: auth 5/min per IP, bot creation 10/hour per user, and
        a general limit per user (per IP without a token)."""
        return cls({
            GENERAL: Limit(general_per_minute, 60.0),
            AUTH: Limit(auth_per_minute, 60.0),
            BOT_CREATE: Limit(bot_create_per_hour, 3600.0),
        }, now=now)

    def limit_of(self, name: str) -> Limit | None:
        limit = self.limits.get(name)
        return limit if limit is not None and limit.requests > 0 else None

    def hit(self, name: str, caller: str) -> Verdict | None:
        """Count one request of `caller` in class `name`; None when the class is not limited."""
        limit = self.limit_of(name)
        if limit is None:
            return None
        now = self.now()
        if now >= self._next_sweep:
            self._sweep(now)
        key = (name, caller)
        log = self._log.get(key)
        if log is None:
            log = self._log[key] = deque()
        horizon = now - limit.window_s
        while log and log[0] <= horizon:
            log.popleft()
        if len(log) >= limit.requests:
            return Verdict(False, limit.requests, 0, log[0] - horizon)
        log.append(now)
        return Verdict(True, limit.requests, limit.requests - len(log), log[0] - horizon)

    def _sweep(self, now: float) -> None:
        """Forget callers with nothing left in their window, so memory follows the
        active clients, not every IP ever seen. Runs at most once per shortest window."""
        windows = [limit.window_s for limit in self.limits.values() if limit.requests > 0]
        for key in [key for key, log in self._log.items() if not log or log[-1] <= now - self.limits[key[0]].window_s]:
            del self._log[key]
        self._next_sweep = now + (min(windows) if windows else 60.0)


def rate_limit_class(declared: str | Mapping[str, str] | None, method: str) -> str | None:
    """The class a handler's `rate_limit` declaration gives one HTTP method."""
    if declared is None or isinstance(declared, str):
        return declared
    return declared.get(method.upper(), GENERAL)
