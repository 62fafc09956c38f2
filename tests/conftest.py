"""Fixtures every test folder may use.

Database tests take `database_url` (or `engine`) and run on SQLite and, when
TRADERD_TEST_DATABASE_URL points at a PostgreSQL server where the user may create
databases (for example postgresql+psycopg2://postgres@127.0.0.1:5432/test), on PostgreSQL
too, each test in a database of its own that is dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from actors.bus import EventBus
from actors.scheduler import Scheduler
from storage.database import SQLITE_FILENAME, make_engine, sqlite_url
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
    """The URL of an empty database: a SQLite file, or a throwaway PostgreSQL database.
    For a test that takes `engine`, a copy of one migrated once per run instead."""
    migrated = "engine" in request.fixturenames
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "state")
        if migrated:
            (tmp_path / "state").mkdir(exist_ok=True)
            shutil.copyfile(request.getfixturevalue("_migrated_sqlite"), tmp_path / "state" / SQLITE_FILENAME)
        yield url
    else:
        template = request.getfixturevalue("_migrated_postgres") if migrated else None
        with throwaway_postgres_database(os.environ[POSTGRES_URL_VARIABLE], template) as url:
            yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on `database_url`, migrated to the newest schema."""
    engine = make_engine(database_url)
    upgrade(engine)  # a no-op on a migrated copy (14 ms); the real thing elsewhere
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per run: the migrations take ~70 ms, a copy ~1."""
    state = tmp_path_factory.mktemp("migrated")
    engine = make_engine(sqlite_url(state))
    upgrade(engine)
    engine.dispose()
    return state / SQLITE_FILENAME


@pytest.fixture(scope="session")
def _migrated_postgres() -> Iterator[str]:
    """The name of a PostgreSQL database migrated once per run, to copy from (~0.2 s saved
    per test)."""
    with throwaway_postgres_database(os.environ[POSTGRES_URL_VARIABLE]) as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        database = make_url(url).database
        assert database is not None
        yield database


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
