"""Fixtures every test folder may use.

Database tests take `database_url` (or `engine`) and run on SQLite and, when
TRADERD_TEST_DATABASE_URL points at a PostgreSQL server where the user may create
databases (for example postgresql+psycopg2://postgres@127.0.0.1:5432/test), on PostgreSQL
too, each test in a database of its own that is dropped afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest
from sqlalchemy import Engine

from actors.bus import EventBus
from actors.scheduler import Scheduler
from storage.database import make_engine, sqlite_url
from storage.migrate import upgrade
from storage.scratch import throwaway_postgres_database

POSTGRES_URL_VARIABLE = "TRADERD_TEST_DATABASE_URL"


def _postgres_param() -> object:
    marks = [pytest.mark.postgres]
    if not os.environ.get(POSTGRES_URL_VARIABLE):
        marks.append(pytest.mark.skip(reason=f"set {POSTGRES_URL_VARIABLE} to test PostgreSQL"))
    return pytest.param("postgresql", marks=marks)


@pytest.fixture(params=["sqlite", _postgres_param()])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file, or a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "state")
    else:
        with throwaway_postgres_database(os.environ[POSTGRES_URL_VARIABLE]) as url:
            yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on `database_url`, migrated to the newest schema."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


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


@pytest.fixture
def fake_binance() -> Iterator[object]:
    """A fake Binance spot server on 127.0.0.1 (tests/fake_exchange), in a thread."""
    from tests.fake_exchange.fixtures import serve_fake_binance

    yield from serve_fake_binance()


@pytest.fixture
def streams() -> Iterator[object]:
    """The fake Binance's websocket streams on 127.0.0.1 (tests/fake_exchange/binance_ws.py)."""
    from tests.fake_exchange.binance_ws import serve_fake_binance_streams

    yield from serve_fake_binance_streams()
