"""Test-only hooks, armed by `TRADERD_TEST_HOOKS=1` in the environment and never otherwise.

Never set it in production. With it set, `kill -USR2` wedges the supervisor: it is told to
start a child whose constructor blocks, and Pykka runs a constructor in the caller's
thread, so the supervisor stops sweeping exactly as a hung actor would. The end-to-end
tests use it to see the watchdog pings stop. Shutdown releases the wedge.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

import pykka

from actors.supervised import SupervisedActor
from actors.supervisor import ChildSpec, StartChild

logger = logging.getLogger(__name__)

ENV = "TRADERD_TEST_HOOKS"


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    return (os.environ if environ is None else environ).get(ENV) == "1"


class WedgedActor(SupervisedActor):
    """An actor whose constructor blocks until `release` is set."""

    def __init__(self, *, name: str, release: threading.Event, supervisor: pykka.ActorRef[Any] | None = None) -> None:
        release.wait()
        super().__init__(name=name, supervisor=supervisor)


class Wedge:
    """Wedges a supervisor on demand; `release()` lets it go (at shutdown)."""

    def __init__(self) -> None:
        self._release = threading.Event()

    def wedge(self, supervisor: pykka.ActorRef[Any]) -> None:
        logger.warning("test hook: wedging the supervisor (%s=1)", ENV)
        spec = ChildSpec(name="test-wedge", actor_class=WedgedActor, kwargs={"release": self._release})
        supervisor.tell(StartChild(spec=spec))

    def release(self) -> None:
        self._release.set()
