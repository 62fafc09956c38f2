"""What handlers may reach: passed to `make_app`, never imported as globals."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from trading.clock import SYSTEM_CLOCK, Clock


@dataclass
class ApiContext:
    """The daemon's pieces the API needs; grows as resources are added."""

    version: str
    clock: Clock = SYSTEM_CLOCK
    started_monotonic: float = field(default_factory=time.monotonic)
    monotonic: Callable[[], float] = time.monotonic

    def uptime_s(self) -> float:
        return self.monotonic() - self.started_monotonic
