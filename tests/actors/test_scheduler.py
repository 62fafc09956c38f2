"""The scheduler thread: one-shot and periodic tells, cancellation, dead actors."""

from __future__ import annotations

import queue
import time
from typing import Any

from actors.messages import Tick
from tests.actors.helpers import Recorder


def recorder() -> tuple[Any, queue.Queue[Any]]:
    received: queue.Queue[Any] = queue.Queue()
    return Recorder.start(name="recorder", received=received), received


def test_tell_later_delivers_once_after_the_delay(scheduler):
    ref, received = recorder()
    sent_at = time.monotonic()
    scheduler.tell_later(0.1, ref, Tick(timer="once"))
    tick = received.get(timeout=2)
    assert tick.timer == "once"
    assert time.monotonic() - sent_at >= 0.1
    time.sleep(0.2)
    assert received.empty()


def test_earlier_timers_fire_first_whatever_the_order_they_were_set(scheduler):
    ref, received = recorder()
    scheduler.tell_later(0.2, ref, Tick(timer="late"))
    scheduler.tell_later(0.05, ref, Tick(timer="early"))
    assert [received.get(timeout=2).timer for _ in range(2)] == ["early", "late"]


def test_tell_every_repeats_with_fresh_messages_until_cancelled(scheduler):
    ref, received = recorder()
    timer = scheduler.tell_every(0.02, ref, lambda: Tick(timer="beat"))
    ticks = [received.get(timeout=2) for _ in range(5)]
    assert {tick.timer for tick in ticks} == {"beat"}
    assert len({tick.message_id for tick in ticks}) == 5
    timer.cancel()
    time.sleep(0.05)
    while not received.empty():
        received.get_nowait()
    time.sleep(0.1)
    assert received.empty()


def test_a_timer_for_a_dead_actor_cancels_itself(scheduler):
    ref, received = recorder()
    timer = scheduler.tell_every(0.02, ref, lambda: Tick(timer="beat"))
    received.get(timeout=2)
    ref.stop()
    time.sleep(0.1)
    assert timer.cancelled


def test_stop_ends_the_thread_with_timers_pending(scheduler):
    ref, received = recorder()
    scheduler.tell_later(30, ref, Tick(timer="never"))
    scheduler.stop(timeout=1)
    assert not scheduler._thread.is_alive()  # noqa: SLF001
