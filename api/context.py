"""What handlers may reach: passed to `make_app`, never imported as globals."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Callable

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from api.auth.tokens import TokenIssuer
from api.bridge import ActorGateway
from api.readiness import DatabaseProbe
from trading.clock import SYSTEM_CLOCK, Clock


@dataclass
class ApiContext:
    """The daemon's pieces the API needs; grows as resources are added."""

    version: str
    clock: Clock = SYSTEM_CLOCK
    started_monotonic: float = field(default_factory=time.monotonic)
    monotonic: Callable[[], float] = time.monotonic
    engine: Engine | None = None
    """The database; handlers touch it only in an executor (`BaseHandler.in_executor`)."""
    tokens: TokenIssuer | None = None
    """Signs and checks the JWTs; routes that need a login fail without it."""
    actors: ActorGateway | None = None
    """How handlers reach actors, by name and message; None where no actors run."""
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    """What `/metrics` exposes; the daemon passes the one its actors count on."""

    def uptime_s(self) -> float:
        return self.monotonic() - self.started_monotonic

    @functools.cached_property
    def database_probe(self) -> DatabaseProbe | None:
        """One probe per context, so concurrent readiness checks share a ping."""
        return None if self.engine is None else DatabaseProbe(self.engine)
