"""Fixtures every test folder may use."""

from __future__ import annotations

from collections.abc import Iterator

import pykka
import pytest

from actors.bus import EventBus
from actors.scheduler import Scheduler


@pytest.fixture
def scheduler() -> Iterator[Scheduler]:
    scheduler = Scheduler(name="test-scheduler")
    scheduler.start()
    yield scheduler
    scheduler.stop()


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture(autouse=True)
def _stop_all_actors() -> Iterator[None]:
    """Every test leaves no actor behind, whatever it asserted."""
    yield
    pykka.ActorRegistry.stop_all(block=True, timeout=5)
