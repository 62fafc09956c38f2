from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from storage.database import make_engine, ping, sqlite_url
from storage.scratch import throwaway_postgres_database

POSTGRES_URL_VARIABLE = "TRADERD_TEST_DATABASE_URL"


def test_sqlite_url_points_at_an_absolute_file_in_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert sqlite_url(Path("var")) == f"sqlite:///{tmp_path}/var/traderd.sqlite3"


def test_make_engine_creates_the_state_dir(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "a" / "b"))
    try:
        ping(engine)
    finally:
        engine.dispose()

    assert (tmp_path / "a" / "b" / "traderd.sqlite3").is_file()


def test_sqlite_connections_get_the_pragmas(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path))
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        engine.dispose()

    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL
        "foreign_keys": 1,
        "busy_timeout": 5000,
    }


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with pytest.raises(IntegrityError):
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO paper_balances VALUES ('no-such-account', 'USDT', '1', '0')")
            )


def test_ddl_is_transactional(engine: Engine) -> None:
    # SQLite's driver would commit DDL on its own; make_engine takes BEGIN away from it.
    with pytest.raises(ZeroDivisionError):
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE scratch (x INTEGER)"))
            1 / 0

    with engine.connect() as connection:
        assert "scratch" not in engine.dialect.get_table_names(connection)


def test_ping_measures_a_round_trip(engine: Engine) -> None:
    assert 0 < ping(engine) < 5


@pytest.mark.postgres
@pytest.mark.skipif(
    not os.environ.get(POSTGRES_URL_VARIABLE), reason=f"set {POSTGRES_URL_VARIABLE} to test it"
)
def test_a_throwaway_database_is_gone_afterwards() -> None:
    server_url = os.environ[POSTGRES_URL_VARIABLE]
    with throwaway_postgres_database(server_url) as url:
        name = make_url(url).database
        engine = make_engine(url)
        ping(engine)  # a connection left open must not block the drop

    admin = make_engine(server_url)
    try:
        with admin.connect() as connection:
            found = connection.execute(
                text("SELECT count(*) FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar_one()
    finally:
        admin.dispose()
        engine.dispose()

    assert found == 0
