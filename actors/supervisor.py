"""The supervisor: one-for-one restarts with exponential backoff, then give up.

Pykka has no supervision, so traderd brings its own. A child reports a failure in a
message handler with `ChildFailed` (from `SupervisedActor.on_failure`). Deaths that never
reach `on_failure` (a raising `on_start`, a `stop()` from behind the supervisor's back)
are found by a sweep of `is_alive()` on every `Tick`. A child that fails more than
`max_restarts` times within `window_s` is given up: it stays stopped and `ActorGaveUp` is
published, while its siblings run on.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import pykka

from actors.bus import SYSTEM_TOPIC, EventBus
from actors.directory import ActorDirectory
from actors.heartbeat import Heartbeat
from actors.messages import (
    ActorGaveUp,
    ActorRestarted,
    ChildFailed,
    ChildStatus,
    GetSupervisionTree,
    RestartChild,
    Tick,
)
from actors.reply import Reply
from actors.scheduler import Scheduler, Timer
from actors.supervised import SupervisedActor, describe_error
from trading.messages import Command

logger = logging.getLogger(__name__)

SWEEP = "supervisor-sweep"
SILENT_DEATH = "stopped without reporting a failure (on_start raised, or it was stopped behind its supervisor's back)"


@dataclass(frozen=True)
class RestartPolicy:
    """How often, and how soon, a failed child is started again."""

    max_restarts: int = 5
    window_s: float = 60.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0

    def backoff_s(self, recent_restarts: int) -> float:
        """Delay before the next restart: doubles with each restart inside the window."""
        return min(self.backoff_initial_s * (2**recent_restarts), self.backoff_max_s)


@dataclass(frozen=True)
class ChildSpec:
    """How to start a child: its class and keyword arguments (`name` and `supervisor` are added)."""

    name: str
    actor_class: type[SupervisedActor]
    kwargs: dict[str, Any] = field(default_factory=dict)
    policy: RestartPolicy | None = None


@dataclass
class _Child:
    spec: ChildSpec
    ref: pykka.ActorRef[Any] | None = None
    state: str = "starting"  # running, restarting, gave_up, stopping
    generation: int = 0
    restart_times: deque[float] = field(default_factory=deque)
    restarts: int = 0
    last_error: str | None = None
    found_dead: bool = False


@dataclass(frozen=True)
class StartChild(Command):
    """Start (or replace) a supervised child; the reply gets its `ActorRef`."""

    spec: ChildSpec
    reply: Reply | None = None


@dataclass(frozen=True)
class StopChild(Command):
    """Stop a child for good and forget it; the reply gets True when it has stopped."""

    name: str
    timeout_s: float = 5.0
    reply: Reply | None = None


class Supervisor(SupervisedActor):
    """Starts children, restarts them when they fail, and stops them in reverse order."""

    def __init__(
        self,
        *,
        name: str,
        scheduler: Scheduler,
        bus: EventBus,
        policy: RestartPolicy = RestartPolicy(),
        directory: ActorDirectory | None = None,
        sweep_interval_s: float = 1.0,
        child_stop_timeout_s: float = 3.0,
        supervisor: pykka.ActorRef[Any] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        heartbeat: Heartbeat | None = None,
    ) -> None:
        super().__init__(name=name, supervisor=supervisor)
        self.scheduler = scheduler
        self.bus = bus
        self.policy = policy
        self.heartbeat = heartbeat  # read by the systemd watchdog: the sweeps still run
        self.directory = directory
        self.sweep_interval_s = sweep_interval_s
        self.child_stop_timeout_s = child_stop_timeout_s
        self._monotonic = monotonic
        self._children: dict[str, _Child] = {}
        self._sweep_timer: Timer | None = None
        self.last_sweep = monotonic()

    def on_start(self) -> None:
        super().on_start()
        self._sweep_timer = self.scheduler.tell_every(
            self.sweep_interval_s, self.actor_ref, lambda: Tick(timer=SWEEP)
        )

    def on_stop(self) -> None:
        if self._sweep_timer is not None:
            self._sweep_timer.cancel()
        for name in reversed(list(self._children)):
            self._stop_child(self._children.pop(name), self.child_stop_timeout_s)

    # -- commands ---------------------------------------------------------------------

    def on_start_child(self, command: StartChild) -> None:
        previous = self._children.pop(command.spec.name, None)
        if previous is not None:
            self._stop_child(previous, self.child_stop_timeout_s)
        child = _Child(spec=command.spec)
        self._children[child.spec.name] = child
        self._start(child)
        if command.reply is not None:
            command.reply.set_result(child.ref)

    def on_stop_child(self, command: StopChild) -> None:
        child = self._children.pop(command.name, None)
        stopped = child is not None and self._stop_child(child, command.timeout_s)
        if command.reply is not None:
            command.reply.set_result(stopped)

    def on_get_supervision_tree(self, query: GetSupervisionTree) -> None:
        query.reply.set_result(self.tree())

    # -- failures ---------------------------------------------------------------------

    def on_child_failed(self, report: ChildFailed) -> None:
        child = self._children.get(report.name)
        if child is None or child.ref is None or child.ref.actor_urn != report.actor_urn:
            return  # an earlier incarnation, already handled
        if child.state != "running":
            return
        self._child_failed(child, report.error)

    def on_tick(self, tick: Tick) -> None:
        if tick.timer == SWEEP:
            self.last_sweep = self._monotonic()
            self._sweep()
            if self.heartbeat is not None:
                self.heartbeat.beat()

    def _sweep(self) -> None:
        for child in list(self._children.values()):
            if child.state != "running" or child.ref is None or child.ref.is_alive():
                child.found_dead = False
                continue
            # A child that failed in a handler has a ChildFailed on its way, which says
            # more than the sweep can; wait one sweep for it before calling it silent.
            if child.found_dead:
                self._child_failed(child, SILENT_DEATH)
            else:
                child.found_dead = True

    def _child_failed(self, child: _Child, error: str) -> None:
        now = self._monotonic()
        policy = child.spec.policy or self.policy
        while child.restart_times and now - child.restart_times[0] > policy.window_s:
            child.restart_times.popleft()
        child.last_error = error
        child.found_dead = False
        if len(child.restart_times) >= policy.max_restarts:
            child.state = "gave_up"
            if self.directory is not None:
                self.directory.unregister(child.spec.name)
            logger.error(
                "%s failed %d times within %.0f s; giving up: %s",
                child.spec.name, len(child.restart_times) + 1, policy.window_s, error,
            )
            self.bus.publish(
                SYSTEM_TOPIC,
                ActorGaveUp(name=child.spec.name, restarts=child.restarts, error=error),
            )
            return
        delay = policy.backoff_s(len(child.restart_times))
        child.restart_times.append(now)
        child.state = "restarting"
        child.generation += 1
        logger.warning("%s failed (%s); restarting in %.2f s", child.spec.name, error, delay)
        self.scheduler.tell_later(
            delay, self.actor_ref, RestartChild(name=child.spec.name, generation=child.generation)
        )

    def on_restart_child(self, command: RestartChild) -> None:
        child = self._children.get(command.name)
        if child is None or child.state != "restarting" or child.generation != command.generation:
            return
        child.restarts += 1
        self._start(child)
        self.bus.publish(
            SYSTEM_TOPIC,
            ActorRestarted(
                name=child.spec.name, restarts=child.restarts, error=child.last_error or ""
            ),
        )

    # -- helpers ----------------------------------------------------------------------

    def _start(self, child: _Child) -> None:
        spec = child.spec
        try:
            child.ref = spec.actor_class.start(
                name=spec.name, supervisor=self.actor_ref, **spec.kwargs
            )
            if self.directory is not None:
                self.directory.register(spec.name, child.ref)
        except Exception as error:  # the constructor raised: a failure like any other
            child.ref = None
            logger.exception("could not start %s", spec.name)
            self._child_failed(child, describe_error(error))
            return
        child.state = "running"

    def _stop_child(self, child: _Child, timeout_s: float) -> bool:
        child.state = "stopping"
        if self.directory is not None:
            self.directory.unregister(child.spec.name)
        if child.ref is None or not child.ref.is_alive():
            return True
        try:
            return bool(child.ref.stop(block=True, timeout=timeout_s))
        except pykka.Timeout:
            logger.error("%s did not stop within %.1f s", child.spec.name, timeout_s)
            return False

    def tree(self) -> tuple[ChildStatus, ...]:
        """The children as this supervisor sees them (nested supervisors not expanded)."""
        return tuple(
            ChildStatus(
                name=child.spec.name,
                state=child.state,
                restarts=child.restarts,
                mailbox_depth=_mailbox_depth(child.ref),
                last_error=child.last_error,
            )
            for child in self._children.values()
        )


def _mailbox_depth(ref: pykka.ActorRef[Any] | None) -> int:
    if ref is None:
        return 0
    return ref.actor_inbox.qsize()
