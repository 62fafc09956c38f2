"""Schema migrations without an alembic.ini: the scripts ship inside this package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from storage.errors import ForeignKeyViolation

SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic `Config` for the packaged scripts, running on `connection` if given."""
    config = Config()
    # Config values go through ConfigParser interpolation, where "%" is special.
    config.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to `revision`, all in one transaction."""
    with engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            with connection.begin():
                command.upgrade(alembic_config(connection), revision)
            return
        # Batch migrations rebuild a SQLite table by copying it and dropping the old one;
        # with foreign keys on, that drop would cascade into the rows that refer to it.
        # The pragma is a no-op inside a transaction, so set it on the raw connection first.
        _sqlite_pragma(connection, "foreign_keys=OFF")
        try:
            with connection.begin():
                command.upgrade(alembic_config(connection), revision)
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise ForeignKeyViolation(f"{revision} breaks foreign keys: {broken}")
        finally:
            _sqlite_pragma(connection, "foreign_keys=ON")


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision the packaged scripts know."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {SCRIPT_LOCATION}")
    return head


def _sqlite_pragma(connection: Connection, pragma: str) -> None:
    # Straight to the driver: through SQLAlchemy it would start a transaction first.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()
