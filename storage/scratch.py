"""Throwaway PostgreSQL databases, for tests and benchmarks that must not see each other's data."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool


@contextmanager
def throwaway_postgres_database(server_url: str, template: str | None = None) -> Iterator[str]:
    """The URL of a new database on the server of `server_url`, empty or a copy of the
    database `template` (which nobody may be connected to); dropped on exit.

    The user in `server_url` needs the CREATEDB privilege. The drop forces out any
    connection still open, so a test that forgot to dispose an engine cannot block it.
    """
    name = f"traderd_t_{secrets.token_hex(6)}"
    # CREATE and DROP DATABASE refuse to run inside a transaction.
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            copy = f' TEMPLATE "{template}"' if template is not None else ""
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()
