from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import CheckConstraint, Engine, inspect, text

from storage.database import make_engine, sqlite_url
from storage.errors import ForeignKeyViolation
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import metadata
from storage.users import create_user, get_user_by_username


def test_head_is_the_auth_totp_revision() -> None:
    assert head_revision() == "0003"


def test_upgrade_brings_an_empty_database_to_head(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) is None

        upgrade(engine)

        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) == set(metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()


def test_a_second_upgrade_changes_nothing(engine: Engine) -> None:
    create_user(engine, username="ada", password_hash="x", role="admin")

    upgrade(engine)

    assert current_revision(engine) == head_revision()
    assert get_user_by_username(engine, "ada") is not None


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)

    assert differences == []


def test_migrations_make_the_models_check_constraints(engine: Engine) -> None:
    # compare_metadata does not look at CHECK constraints, so compare their names here.
    inspector = inspect(engine)
    for table in metadata.sorted_tables:
        expected = {c.name for c in table.constraints if isinstance(c, CheckConstraint)}
        assert {c["name"] for c in inspector.get_check_constraints(table.name)} == expected


def test_sqlite_schema_is_what_create_all_makes(tmp_path: Path) -> None:
    migrated = make_engine(sqlite_url(tmp_path / "migrated"))
    created = make_engine(sqlite_url(tmp_path / "created"))
    try:
        upgrade(migrated)
        metadata.create_all(created)

        assert _sqlite_schema(migrated) == _sqlite_schema(created)
    finally:
        migrated.dispose()
        created.dispose()


def test_sqlite_upgrade_checks_foreign_keys_and_turns_them_back_on(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path))
    try:
        upgrade(engine)
        raw = engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA foreign_keys=OFF")
            raw.cursor().execute("INSERT INTO paper_balances VALUES ('gone', 'USDT', '1', '0')")
        finally:
            raw.close()

        with pytest.raises(ForeignKeyViolation, match="paper_balances"):
            upgrade(engine)

        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def _sqlite_schema(engine: Engine) -> dict[str, str]:
    query = text(
        "SELECT name, sql FROM sqlite_master"
        " WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE 'alembic_%'"
    )
    with engine.connect() as connection:
        return {name: _canonical(sql) for name, sql in connection.execute(query)}


def _canonical(sql: str) -> str:
    """A table's DDL up to what a batch migration cannot keep: SQLite writes a table it
    renamed (the batch's copy) as `"users"`, and the copy lists its constraints in
    another order. Columns, types and their order still have to match."""
    lines = [line.strip().rstrip(",") for line in sql.replace('CREATE TABLE "', "CREATE TABLE ", 1).split("\n")]
    if lines[0].startswith("CREATE TABLE "):
        lines[0] = lines[0].replace('" (', " (", 1)
    constraints = sorted(line for line in lines if line.startswith("CONSTRAINT "))
    return "\n".join([line for line in lines if not line.startswith("CONSTRAINT ")] + constraints)
