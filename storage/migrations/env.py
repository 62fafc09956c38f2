"""Alembic's entry point: runs the migrations on the connection `storage.migrate` passes in.

There is no alembic.ini and no URL here; the daemon, the tests and a developer's
`alembic.command.revision(storage.migrate.alembic_config(connection), autogenerate=True)`
all come through `storage.migrate`, which owns the transaction.
"""

from __future__ import annotations

from alembic import context

from storage.models import metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through storage.migrate, which passes a connection")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
