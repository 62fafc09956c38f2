"""The watchdog pings only while every watched heartbeat is fresh; WATCHDOG_USEC/PID."""

from __future__ import annotations

import os

from actors.heartbeat import Heartbeat
from daemon.sdnotify import watchdog_interval_s
from daemon.watchdog import MIN_STALE_S, Vital, Watchdog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_interval_is_half_watchdog_usec_and_only_for_this_process():
    assert watchdog_interval_s({"WATCHDOG_USEC": "400000"}) == 0.2
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) == 15.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "400000", "WATCHDOG_PID": str(os.getpid() + 1)}) is None
    assert watchdog_interval_s({}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "zero"}) is None


def test_pings_stop_while_a_heartbeat_is_stale_and_resume_when_it_beats():
    clock = Clock()
    sent: list[str] = []
    heartbeat = Heartbeat(monotonic=clock)
    watchdog = Watchdog(0.2, send=lambda *lines: sent.extend(lines) or True)
    watchdog.watch(Vital.every("supervisor", heartbeat, interval_s=1.0))

    assert watchdog.check_and_ping()
    clock.now += MIN_STALE_S + 0.1
    assert not watchdog.check_and_ping()
    assert watchdog.problem() == "supervisor has not handled a tick for 5.1 s"
    heartbeat.beat()
    assert watchdog.check_and_ping()
    assert sent == ["WATCHDOG=1", "WATCHDOG=1"]


def test_a_backlog_that_stops_shrinking_counts_as_stuck_though_the_actor_ticks():
    clock = Clock()
    heartbeat = Heartbeat(monotonic=clock)
    vital = Vital.every("journal", heartbeat, interval_s=0.05, max_stall_s=60.0)
    for backlog in (0, 10, 20, 15, 0, 5):  # shrinking or empty counts as progress
        clock.now += 1.0
        heartbeat.beat(backlog=backlog)
    assert vital.problem() is None
    for _ in range(61):
        clock.now += 1.0
        heartbeat.beat(backlog=5)
    assert vital.problem() == "journal backlog (5) has not shrunk for 62 s"
    heartbeat.beat(backlog=0)
    assert vital.problem() is None
