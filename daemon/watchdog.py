"""The systemd watchdog: `WATCHDOG=1` every half `$WATCHDOG_USEC`, only while the daemon is
alive inside, not just its loop.

Each critical actor (the supervisor, the journal) beats a `Heartbeat` on the `Tick`s it
handles. Before each ping the loop checks every beat is recent, and that the journal's
backlog has not gone long without shrinking; if one is not, the pings stop and systemd,
after `WatchdogSec=`, kills and restarts the service (`Restart=on-failure`). A loop that
is itself stuck sends nothing either.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from actors.heartbeat import Heartbeat
from daemon.sdnotify import notify

logger = logging.getLogger(__name__)

STALE_AFTER_INTERVALS = 5
"""A heartbeat is stale after this many of its actor's tick intervals ..."""
MIN_STALE_S = 5.0
"""... and never sooner than this: a busy moment (a large batch, a GC pause) is not a hang."""
JOURNAL_STALL_S = 60.0
"""A journal backlog that has not shrunk for this long means the database is gone for good."""


@dataclass(frozen=True)
class Vital:
    """One heartbeat the watchdog checks, and how old (or stalled) it may be."""

    name: str
    heartbeat: Heartbeat
    max_age_s: float
    max_stall_s: float | None = None

    @classmethod
    def every(cls, name: str, heartbeat: Heartbeat, interval_s: float, max_stall_s: float | None = None) -> Vital:
        """A vital for an actor that beats every `interval_s`."""
        return cls(name, heartbeat, max(STALE_AFTER_INTERVALS * interval_s, MIN_STALE_S), max_stall_s)

    def problem(self) -> str | None:
        age = self.heartbeat.age_s()
        if age > self.max_age_s:
            return f"{self.name} has not handled a tick for {age:.1f} s"
        if self.max_stall_s is not None:
            stalled = self.heartbeat.stalled_s()
            if stalled > self.max_stall_s:
                return f"{self.name} backlog ({self.heartbeat.backlog}) has not shrunk for {stalled:.0f} s"
        return None


class Watchdog:
    """Pings systemd from the loop while every watched vital is fresh."""

    def __init__(self, interval_s: float, send: Callable[..., bool] = notify) -> None:
        self.interval_s = interval_s
        self._send = send
        self._vitals: list[Vital] = []
        self._withheld: str | None = None

    def watch(self, vital: Vital) -> None:
        self._vitals.append(vital)

    def problem(self) -> str | None:
        """Why the daemon is not well, or None."""
        for vital in self._vitals:
            problem = vital.problem()
            if problem is not None:
                return problem
        return None

    def check_and_ping(self) -> bool:
        """One watchdog beat: ping if well, else say once why the pings stopped."""
        problem = self.problem()
        if problem is None:
            if self._withheld is not None:
                logger.warning("watchdog pings resume (was: %s)", self._withheld)
                self._withheld = None
            self._send("WATCHDOG=1")
            return True
        if self._withheld is None:
            logger.error("watchdog pings withheld: %s; systemd will restart the service", problem)
            self._withheld = problem
        return False

    async def run(self) -> None:
        """Ping every `interval_s` until cancelled."""
        while True:
            self.check_and_ping()
            await asyncio.sleep(self.interval_s)
