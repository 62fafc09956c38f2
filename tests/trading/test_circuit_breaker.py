"""The per-account circuit breaker, on a hand-moved clock."""

from __future__ import annotations

from trading.venues.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_n_consecutive_failures_only():
    breaker = CircuitBreaker(failure_threshold=3, cooldown_s=10, monotonic=Clock())
    breaker.record_failure("a")
    breaker.record_failure("b")
    breaker.record_success()  # an answer in between resets the count
    breaker.record_failure("c")
    breaker.record_failure("d")
    assert breaker.state == CLOSED and breaker.allow()
    breaker.record_failure("e")
    assert breaker.state == OPEN and not breaker.allow() and breaker.last_error == "e"


def test_one_probe_after_the_cooldown_then_closed_when_it_succeeds():
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=10, monotonic=clock)
    breaker.record_failure("down")
    clock.now = 9.9
    assert not breaker.allow() and breaker.seconds_until_probe() > 0
    clock.now = 10
    assert breaker.state == HALF_OPEN
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # nothing else while it is out
    breaker.record_success()
    assert breaker.state == CLOSED and breaker.allow() and breaker.times_opened == 1


def test_a_failed_probe_opens_it_for_another_cooldown():
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, cooldown_s=5, monotonic=clock)
    breaker.record_failure()
    breaker.record_failure()
    clock.now = 5
    assert breaker.allow()
    breaker.record_failure("still down")
    assert breaker.state == OPEN and breaker.times_opened == 2
    clock.now = 9.9
    assert not breaker.allow()
    clock.now = 10
    assert breaker.allow()
