"""The supervisor with real actors: restarts, backoff, giving up, sweeps, stop order."""

from __future__ import annotations

import queue
import time
from typing import Any

import pytest

from actors.bus import SYSTEM_TOPIC
from actors.messages import ActorGaveUp, ActorRestarted, GetSupervisionTree
from actors.reply import FutureReply
from actors.supervisor import (
    SILENT_DEATH,
    ChildSpec,
    RestartPolicy,
    StartChild,
    StopChild,
    Supervisor,
)
from tests.actors.helpers import (
    Boom,
    Echo,
    Recorder,
    Worker,
    assert_no_entry,
    next_entry,
    next_message,
)

FAST = RestartPolicy(max_restarts=3, window_s=30, backoff_initial_s=0.05, backoff_max_s=1.0)


@pytest.fixture
def log() -> queue.Queue[tuple[Any, ...]]:
    return queue.Queue()


@pytest.fixture
def system_events(bus):
    received: queue.Queue[Any] = queue.Queue()
    recorder = Recorder.start(name="recorder", received=received)
    bus.subscribe(SYSTEM_TOPIC, recorder)
    return received


@pytest.fixture
def supervisor(scheduler, bus):
    return Supervisor.start(
        name="root", scheduler=scheduler, bus=bus, policy=FAST, sweep_interval_s=0.05
    )


def start_child(supervisor, name: str, log, **kwargs: Any):
    reply = FutureReply()
    spec = ChildSpec(name=name, actor_class=Worker, kwargs={"log": log, **kwargs})
    supervisor.tell(StartChild(spec=spec, reply=reply))
    return reply.wait(5)


def tree(supervisor) -> dict[str, Any]:
    reply = FutureReply()
    supervisor.tell(GetSupervisionTree(reply=reply))
    return {child.name: child for child in reply.wait(5)}


def test_a_crashing_child_is_restarted_with_growing_backoff(supervisor, log, system_events):
    first = start_child(supervisor, "worker", log)
    _, _, urn, _ = next_entry(log, "started", "worker")
    assert urn == first.actor_urn

    restarted_at = []
    crashed_at = []
    for _ in range(3):
        crashed_at.append(time.monotonic())
        _current_ref(urn).tell(Boom())
        _, _, new_urn, started = next_entry(log, "started", "worker")
        assert new_urn != urn
        urn = new_urn
        restarted_at.append(started)
        event = next_message(system_events, ActorRestarted)
        assert event.name == "worker"
        assert event.error == "ValueError: boom"

    delays = [started - crashed for started, crashed in zip(restarted_at, crashed_at)]
    # Backoff doubles: 0.05 s, 0.1 s, 0.2 s (lower bounds; the machine may add to them).
    assert delays[0] >= 0.05
    assert delays[1] >= 0.10
    assert delays[2] >= 0.20
    status = tree(supervisor)["worker"]
    assert status.state == "running"
    assert status.restarts == 3
    assert status.last_error == "ValueError: boom"


def test_a_child_that_keeps_crashing_is_given_up_and_siblings_run_on(supervisor, log, system_events):
    sibling_ref = start_child(supervisor, "sibling", log)
    start_child(supervisor, "flaky", log)
    _, _, urn, _ = next_entry(log, "started", "flaky")
    for _ in range(FAST.max_restarts):
        _current_ref(urn).tell(Boom(reason="again"))
        _, _, urn, _ = next_entry(log, "started", "flaky")
    _current_ref(urn).tell(Boom(reason="last straw"))

    gave_up = next_message(system_events, ActorGaveUp)
    assert gave_up.name == "flaky"
    assert gave_up.restarts == FAST.max_restarts
    assert gave_up.error == "ValueError: last straw"
    time.sleep(0.3)  # a few sweeps: nothing may start it again
    assert tree(supervisor)["flaky"].state == "gave_up"
    assert_no_entry(log, "started", "flaky", within=0.2)

    sibling = tree(supervisor)["sibling"]
    assert sibling.state == "running" and sibling.restarts == 0
    sibling_ref.tell(Echo(text="still here"))
    assert next_entry(log, "echo", "sibling")[2] == "still here"


def test_a_failing_on_start_is_found_by_the_sweep_and_given_up(supervisor, log, system_events):
    start_child(supervisor, "broken", log, fail_on_start=True)
    starts = [next_entry(log, "started", "broken") for _ in range(FAST.max_restarts + 1)]
    assert len({urn for _, _, urn, _ in starts}) == FAST.max_restarts + 1

    gave_up = next_message(system_events, ActorGaveUp)
    assert gave_up.name == "broken"
    assert gave_up.error == SILENT_DEATH


def test_a_child_stopped_behind_the_supervisors_back_is_restarted(supervisor, log, system_events):
    ref = start_child(supervisor, "victim", log)
    next_entry(log, "started", "victim")
    ref.stop()  # not through the supervisor

    _, _, new_urn, _ = next_entry(log, "started", "victim")
    assert new_urn != ref.actor_urn
    event = next_message(system_events, ActorRestarted)
    assert event.error == SILENT_DEATH


def test_stop_child_stops_it_for_good(supervisor, log):
    ref = start_child(supervisor, "temp", log)
    next_entry(log, "started", "temp")
    reply = FutureReply()
    supervisor.tell(StopChild(name="temp", reply=reply))
    assert reply.wait(5) is True
    assert not ref.is_alive()
    time.sleep(0.2)  # sweeps pass; a stopped child is not a dead one
    assert "temp" not in tree(supervisor)
    assert_no_entry(log, "started", "temp", within=0.1)


def test_stopping_the_supervisor_stops_children_in_reverse_order(supervisor, log):
    for name in ("journal", "exchange", "bot"):
        start_child(supervisor, name, log)
    supervisor.stop(block=True, timeout=5)
    stops = [log.get(timeout=1) for _ in range(6)]
    order = [entry[1] for entry in stops if entry[0] == "stopped"]
    assert order == ["bot", "exchange", "journal"]


def test_restarts_outside_the_window_do_not_count(scheduler, bus, log, system_events):
    policy = RestartPolicy(max_restarts=1, window_s=0.3, backoff_initial_s=0.01, backoff_max_s=0.01)
    supervisor = Supervisor.start(name="root", scheduler=scheduler, bus=bus, policy=policy, sweep_interval_s=0.05)
    start_child(supervisor, "slow-failer", log)
    _, _, urn, _ = next_entry(log, "started", "slow-failer")
    for _ in range(3):
        time.sleep(0.35)  # each failure falls outside the last one's window
        _current_ref(urn).tell(Boom())
        _, _, urn, _ = next_entry(log, "started", "slow-failer")
    assert tree(supervisor)["slow-failer"].restarts == 3


def test_backoff_doubles_up_to_its_ceiling():
    policy = RestartPolicy(backoff_initial_s=0.5, backoff_max_s=3.0)
    assert [policy.backoff_s(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def _current_ref(urn: str):
    import pykka

    ref = pykka.ActorRegistry.get_by_urn(urn)
    assert ref is not None, f"actor {urn} is not running"
    return ref

