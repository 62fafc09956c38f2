"""A per-account circuit breaker: stop calling an exchange that keeps failing.

Closed: calls go through; `failure_threshold` failures in a row open it. Open: calls are
refused until `cooldown_s` has passed, then one probe is let through (half-open). The
probe's outcome closes it (the exchange answered) or opens it again for another
cool-down. Any answer from the exchange counts as success, a refusal included: the
breaker is about reachability, not about whether the exchange liked the request.
"""

from __future__ import annotations

import time
from collections.abc import Callable

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"
STATE_VALUES = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}
"""The gauge value of each state (`traderd_circuit_breaker_state`)."""


class CircuitBreaker:
    def __init__(
        self,
        failure_threshold: int = 5,
        cooldown_s: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or cooldown_s < 0:
            raise ValueError("failure_threshold must be >= 1 and cooldown_s >= 0")
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self._monotonic = monotonic
        self._state = CLOSED
        self.consecutive_failures = 0
        self.opened_at: float | None = None
        self.times_opened = 0
        self.last_error: str | None = None

    @property
    def state(self) -> str:
        """The state now: an open breaker whose cool-down is over reads half-open."""
        if self._state == OPEN and self._cooled_down():
            return HALF_OPEN
        return self._state

    def allow(self) -> bool:
        """Whether a call may go out now. Past the cool-down, the call let through is
        the probe; until its outcome is recorded, no other call goes."""
        if self._state == CLOSED:
            return True
        if self._state == OPEN and self._cooled_down():
            self._state = HALF_OPEN
            return True
        return False

    def record_success(self) -> None:
        self._state = CLOSED
        self.consecutive_failures = 0
        self.opened_at = None

    def record_failure(self, error: str | None = None) -> None:
        self.consecutive_failures += 1
        self.last_error = error
        if self._state == HALF_OPEN or (
            self._state == CLOSED and self.consecutive_failures >= self.failure_threshold
        ):
            self._state = OPEN
            self.opened_at = self._monotonic()
            self.times_opened += 1

    def seconds_until_probe(self) -> float:
        """0 unless open and cooling down."""
        if self._state != OPEN or self.opened_at is None:
            return 0.0
        return max(0.0, self.opened_at + self.cooldown_s - self._monotonic())

    def _cooled_down(self) -> bool:
        return self.opened_at is not None and self._monotonic() - self.opened_at >= self.cooldown_s
