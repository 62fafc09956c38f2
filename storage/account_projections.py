"""Projectors of API-made exchange accounts: the `accounts` row and a paper account's
opening `paper_balances`.

They run in the journal's transaction (see `storage.projections`); importing this module
registers them. Sealed credentials arrive as base64 text and are stored as the sealed
bytes: nothing here ever sees a clear secret.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, update
from sqlalchemy.engine import Connection

from storage.models import AccountRow, PaperBalanceRow
from storage.projections import projector
from storage.sealing import decode_sealed
from trading.account_events import AccountChanged, AccountCreated, AccountDeleted, AccountValidated
from trading.clock import ns_to_datetime

_accounts = AccountRow.__table__
_balances = PaperBalanceRow.__table__


@projector("AccountCreated")
def account_created(connection: Connection, event: AccountCreated) -> None:
    when = ns_to_datetime(event.ts_event)
    connection.execute(insert(_accounts).values(
        id=event.account_id,
        owner_id=event.owner_id,
        name=event.name,
        exchange=event.exchange,
        source="api",
        is_testnet=event.is_testnet,
        api_key_sealed=decode_sealed(event.api_key_sealed),
        api_secret_sealed=decode_sealed(event.api_secret_sealed),
        password_sealed=decode_sealed(event.password_sealed),
        api_key_hint=event.api_key_hint,
        is_valid=None,
        created_at=when,
        updated_at=when,
    ))
    for asset, amount in sorted(event.initial_balances.items()):
        connection.execute(insert(_balances).values(
            account_id=event.account_id, asset=asset, free=amount, locked=0,
        ))


@projector("AccountChanged")
def account_changed(connection: Connection, event: AccountChanged) -> None:
    values: dict[str, object] = {"updated_at": ns_to_datetime(event.ts_event)}
    if event.name is not None:
        values["name"] = event.name
    if event.is_testnet is not None:
        values["is_testnet"] = event.is_testnet
    if event.api_key_sealed is not None:
        values["api_key_sealed"] = decode_sealed(event.api_key_sealed)
        values["api_key_hint"] = event.api_key_hint
    if event.api_secret_sealed is not None:
        values["api_secret_sealed"] = decode_sealed(event.api_secret_sealed)
    if event.password_sealed is not None:
        values["password_sealed"] = decode_sealed(event.password_sealed)
    elif event.password_removed:
        values["password_sealed"] = None
    if event.api_key_sealed or event.api_secret_sealed or event.password_sealed or event.password_removed:
        values["is_valid"] = None  # new keys have not been checked yet
        values["last_validated_at"] = None
    connection.execute(update(_accounts).where(_accounts.c.id == event.account_id).values(**values))


@projector("AccountValidated")
def account_validated(connection: Connection, event: AccountValidated) -> None:
    when = ns_to_datetime(event.ts_event)
    connection.execute(
        update(_accounts).where(_accounts.c.id == event.account_id)
        .values(is_valid=event.is_valid, last_validated_at=when, updated_at=when)
    )


@projector("AccountDeleted")
def account_deleted(connection: Connection, event: AccountDeleted) -> None:
    # Explicitly: SQLite enforces ON DELETE CASCADE only with its foreign_keys pragma on.
    connection.execute(delete(_balances).where(_balances.c.account_id == event.account_id))
    connection.execute(delete(_accounts).where(_accounts.c.id == event.account_id))
