"""Engines for SQLite (the zero-setup default) and PostgreSQL, set up the way traderd needs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url

SQLITE_FILENAME = "traderd.sqlite3"

# WAL lets the API's readers run beside the journal's writer; NORMAL is durable in WAL
# mode except for the last commits before a power cut; SQLite leaves foreign keys off
# unless asked; busy_timeout makes a second writer wait instead of failing at once.
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)


def sqlite_url(state_dir: Path) -> str:
    """The URL of the SQLite file in the state directory."""
    return f"sqlite:///{(Path(state_dir) / SQLITE_FILENAME).absolute()}"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`; for a SQLite file, also the folder it lives in."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, echo=echo, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, echo=echo)
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def ping(engine: Engine) -> float:
    """Seconds a `SELECT 1` takes to come back; raises when the database is unreachable."""
    with engine.connect() as connection:
        started = time.perf_counter()
        connection.execute(text("SELECT 1")).scalar_one()
        return time.perf_counter() - started


def _on_sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # The sqlite3 module opens transactions only before INSERT, UPDATE and DELETE, so DDL
    # (migrations) and reads would run outside any transaction. Take that job from it:
    # with isolation_level None it never emits BEGIN, and `_on_sqlite_begin` does.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in _SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    # A deferred BEGIN: a transaction that reads first and writes later can fail with
    # "database is locked" if another writer commits in between, which is one more reason
    # the journal is the only writer.
    connection.exec_driver_sql("BEGIN")
