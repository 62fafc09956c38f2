"""One thread that tells messages to actors at set times, because Pykka has no timers.

Feed polls, supervisor sweeps, journal flushes and restarts after a backoff are all
`Tick`s or commands told by this thread. It never runs actor code itself: a timer's only
work is one `tell`, so a slow actor cannot delay anybody else's timer.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import Any, Callable

import pykka

from trading.messages import Message

logger = logging.getLogger(__name__)

MessageSource = Message | Callable[[], Message]


class Timer:
    """A handle to a scheduled tell; `cancel()` is safe from any thread, and idempotent."""

    __slots__ = ("cancelled", "interval_s", "message", "ref")

    def __init__(
        self, ref: pykka.ActorRef[Any], message: MessageSource, interval_s: float | None
    ) -> None:
        self.ref = ref
        self.message = message
        self.interval_s = interval_s
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def make_message(self) -> Message:
        return self.message() if callable(self.message) else self.message


class Scheduler:
    """Tells messages after a delay (`tell_later`) or at a fixed rate (`tell_every`)."""

    def __init__(self, *, name: str = "scheduler", monotonic: Callable[[], float] = time.monotonic):
        self._monotonic = monotonic
        self._queue: list[tuple[float, int, Timer]] = []
        self._sequence = itertools.count()
        self._wakeup = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.last_run = monotonic()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def tell_later(self, delay_s: float, ref: pykka.ActorRef[Any], message: MessageSource) -> Timer:
        """Tell `message` once, `delay_s` seconds from now."""
        timer = Timer(ref, message, None)
        self._push(self._monotonic() + max(delay_s, 0.0), timer)
        return timer

    def tell_every(
        self, interval_s: float, ref: pykka.ActorRef[Any], message: MessageSource
    ) -> Timer:
        """Tell a message every `interval_s` seconds, the first one interval from now.

        Pass a callable to make a fresh message (new id and timestamps) each time. The
        timer cancels itself once the actor is dead, so a crashed actor leaves no timer.
        """
        if interval_s <= 0:
            raise ValueError("interval must be positive")
        timer = Timer(ref, message, interval_s)
        self._push(self._monotonic() + interval_s, timer)
        return timer

    def _push(self, due: float, timer: Timer) -> None:
        with self._wakeup:
            heapq.heappush(self._queue, (due, next(self._sequence), timer))
            if self._queue[0][2] is timer:
                self._wakeup.notify()

    def _run(self) -> None:
        while True:
            with self._wakeup:
                while not self._stopping and not self._due_now():
                    self._wakeup.wait(self._seconds_to_next())
                if self._stopping:
                    return
                due, _, timer = heapq.heappop(self._queue)
            self.last_run = self._monotonic()
            self._fire(due, timer)

    def _due_now(self) -> bool:
        return bool(self._queue) and self._queue[0][0] <= self._monotonic()

    def _seconds_to_next(self) -> float | None:
        return max(self._queue[0][0] - self._monotonic(), 0.0) if self._queue else None

    def _fire(self, due: float, timer: Timer) -> None:
        if timer.cancelled:
            return
        try:
            timer.ref.tell(timer.make_message())
        except pykka.ActorDeadError:
            timer.cancel()
            return
        except Exception:
            logger.exception("timer for %s failed; cancelling it", timer.ref)
            timer.cancel()
            return
        if timer.interval_s is not None:
            # Fixed rate without drift; if the thread fell behind, skip the missed beats
            # rather than firing a burst of them.
            next_due = due + timer.interval_s
            now = self._monotonic()
            if next_due <= now:
                next_due = now + timer.interval_s
            self._push(next_due, timer)
