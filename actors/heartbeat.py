"""`Heartbeat`: how a critical actor shows the systemd watchdog that its thread still turns.

The supervisor and the journal beat on every `Tick` they handle; the daemon reads the beats
on its loop before each `WATCHDOG=1`. It is a small locked object rather than a message on
purpose: the point is to notice an actor that no longer reads its mailbox.
"""

from __future__ import annotations

import threading
import time
from typing import Callable


class Heartbeat:
    """The last beat, and the last time the beating actor's backlog was empty or shrank."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        now = monotonic()
        self._beat_at = now
        self._progress_at = now
        self._backlog = 0

    def beat(self, backlog: int = 0) -> None:
        """Called by the actor on each `Tick`; `backlog` is the work it holds undone (the
        journal's unwritten events). A backlog that is empty or smaller counts as progress."""
        now = self._monotonic()
        with self._lock:
            self._beat_at = now
            if backlog == 0 or backlog < self._backlog:
                self._progress_at = now
            self._backlog = backlog

    def age_s(self) -> float:
        """Seconds since the last beat."""
        with self._lock:
            return self._monotonic() - self._beat_at

    def stalled_s(self) -> float:
        """Seconds the backlog has gone without shrinking (0 while it keeps emptying)."""
        with self._lock:
            return self._monotonic() - self._progress_at

    @property
    def backlog(self) -> int:
        with self._lock:
            return self._backlog
