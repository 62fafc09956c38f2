"""Time as an injectable dependency, so backtests and tests run in simulated time.

Timestamps inside traderd are integer nanoseconds since the Unix epoch, UTC: exact,
cheap to take on the hot path, and sortable. Convert to `datetime` only at the edges.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Protocol

NANOS_PER_SECOND = 1_000_000_000


class Clock(Protocol):
    """Where the current time comes from."""

    def now_ns(self) -> int:
        """Nanoseconds since the Unix epoch, UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now_ns(self) -> int:
        return time.time_ns()


class ManualClock:
    """A clock that moves only when told to; for tests and backtests."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now_ns = start_ns
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        with self._lock:
            return self._now_ns

    def set(self, ns: int) -> None:
        with self._lock:
            if ns < self._now_ns:
                raise ValueError(f"time cannot go backwards: {ns} < {self._now_ns}")
            self._now_ns = ns

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now_ns += int(seconds * NANOS_PER_SECOND)


def ns_to_datetime(ns: int) -> datetime:
    """An aware UTC datetime for a nanosecond timestamp (microsecond precision)."""
    return datetime.fromtimestamp(ns // 1000 / 1_000_000, tz=timezone.utc)


def datetime_to_ns(value: datetime) -> int:
    """Nanoseconds for an aware datetime; a naive one is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    delta = value - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * NANOS_PER_SECOND + delta.microseconds * 1000


SYSTEM_CLOCK = SystemClock()
