"""Read queries over exchange accounts, for the API and for the daemon's boot.

Rows come back as `AccountRecord`s that say whether a credential is held, never what it
is; only `sealed_credentials` (the boot's key check) and `api_live_accounts` (connecting,
`/test`) hand out the sealed bytes, and `LiveAccount.ccxt_settings` alone unseals them. What
the `accounts` table has no column for (a paper account's opening balances, the IP
allow-list) is folded from the account's journaled events.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select

from storage.codec import decode_message
from storage.models import AccountRow, BotRow, EventRow
from storage.sealing import Sealer
from trading.account_events import AccountChanged, AccountCreated
from trading.venues.ccxt_venue.settings import CcxtSettings

_accounts = AccountRow.__table__
_bots = BotRow.__table__
_events = EventRow.__table__

ACTIVE_BOT_STATUSES = ("starting", "running", "paused", "stopping")


@dataclasses.dataclass(frozen=True)
class AccountRecord:
    id: str
    owner_id: str | None
    name: str
    exchange: str
    source: str
    is_testnet: bool
    api_key_hint: str | None
    has_api_key: bool
    has_api_secret: bool
    has_password: bool
    is_valid: bool | None
    last_validated_at: datetime | None
    created_at: datetime
    updated_at: datetime
    ip_whitelist: tuple[str, ...] = ()
    initial_balances: dict[str, Decimal] | None = None


_COLUMNS = (
    _accounts.c.id, _accounts.c.owner_id, _accounts.c.name, _accounts.c.exchange, _accounts.c.source,
    _accounts.c.is_testnet, _accounts.c.api_key_hint,
    _accounts.c.api_key_sealed.is_not(None).label("has_api_key"),
    _accounts.c.api_secret_sealed.is_not(None).label("has_api_secret"),
    _accounts.c.password_sealed.is_not(None).label("has_password"),
    _accounts.c.is_valid, _accounts.c.last_validated_at, _accounts.c.created_at, _accounts.c.updated_at,
)


def list_accounts(
    engine: Engine, owner_id: str | None, *, exchange: str | None = None, limit: int = 50, offset: int = 0,
) -> tuple[list[AccountRecord], int]:
    """A page of accounts, oldest first, and how many there are in all. `owner_id` None
    means every account (an admin's view)."""
    where = []
    if owner_id is not None:
        where.append(_accounts.c.owner_id == owner_id)
    if exchange is not None:
        where.append(_accounts.c.exchange == exchange)
    with engine.connect() as connection:
        total = connection.execute(select(func.count()).select_from(_accounts).where(*where)).scalar_one()
        rows = connection.execute(
            select(*_COLUMNS).where(*where).order_by(_accounts.c.created_at, _accounts.c.id).limit(limit).offset(offset)
        ).all()
        settings = _settings(connection, [row.id for row in rows])
    return [_record(row, settings) for row in rows], total


def get_account(engine: Engine, account_id: str) -> AccountRecord | None:
    with engine.connect() as connection:
        row = connection.execute(select(*_COLUMNS).where(_accounts.c.id == account_id)).first()
        if row is None:
            return None
        return _record(row, _settings(connection, [account_id]))


def name_taken(engine: Engine, owner_id: str | None, name: str, except_id: str | None = None) -> bool:
    """Whether the owner has another account called `name` (names are unique per owner)."""
    owner = _accounts.c.owner_id.is_(None) if owner_id is None else _accounts.c.owner_id == owner_id
    query = select(_accounts.c.id).where(owner, _accounts.c.name == name)
    if except_id is not None:
        query = query.where(_accounts.c.id != except_id)
    with engine.connect() as connection:
        return connection.execute(query.limit(1)).first() is not None


def bots_of_account(engine: Engine, account_id: str) -> tuple[int, int]:
    """(bots of the account that are active, bots of the account in all)."""
    active = _bots.c.status.in_(ACTIVE_BOT_STATUSES)
    with engine.connect() as connection:
        row = connection.execute(
            select(func.count(), func.count().filter(active)).select_from(_bots).where(_bots.c.account_id == account_id)
        ).one()
    return row[1], row[0]


def api_paper_accounts(engine: Engine) -> list[tuple[str, dict[str, Decimal]]]:
    """(id, opening balances) of every paper account made through the API, oldest first."""
    with engine.connect() as connection:
        ids = list(connection.execute(
            select(_accounts.c.id)
            .where(_accounts.c.source == "api", _accounts.c.exchange == "paper")
            .order_by(_accounts.c.created_at, _accounts.c.id)
        ).scalars())
        settings = _settings(connection, ids)
    return [(account_id, settings.get(account_id, ((), {}))[1] or {}) for account_id in ids]


@dataclasses.dataclass(frozen=True)
class LiveAccount:
    """What it takes to connect an account made through the API to its ccxt exchange."""

    id: str
    exchange: str
    is_testnet: bool
    sealed: dict[str, bytes]
    urls: dict[str, str]

    def ccxt_settings(self, sealer: Sealer, **options: Any) -> CcxtSettings:
        """The settings to reach the exchange with, keys unsealed: the one place the daemon
        and the API open an account's keys (`SealingError` when they do not open).
        `options`: further `CcxtSettings` fields (a poll interval, a timeout)."""
        clear = {name: sealer.unseal(value, self.id, name) for name, value in self.sealed.items()}
        return CcxtSettings(
            exchange=self.exchange, api_key=clear["api_key"], secret=clear["api_secret"],
            password=clear.get("password"), sandbox=self.is_testnet, urls=dict(self.urls), **options,
        )


_SEALED_COLUMNS = (("api_key", _accounts.c.api_key_sealed), ("api_secret", _accounts.c.api_secret_sealed),
                   ("password", _accounts.c.password_sealed))


def api_live_accounts(engine: Engine, account_id: str | None = None) -> list[LiveAccount]:
    """Every account on a ccxt exchange made through the API that holds its keys (or just
    `account_id`), oldest first. Two queries whatever the number of accounts (the boot
    reads them all)."""
    query = (
        select(_accounts.c.id, _accounts.c.exchange, _accounts.c.is_testnet, *(column for _, column in _SEALED_COLUMNS))
        .where(_accounts.c.source == "api", _accounts.c.exchange != "paper",
               _accounts.c.api_key_sealed.is_not(None), _accounts.c.api_secret_sealed.is_not(None))
        .order_by(_accounts.c.created_at, _accounts.c.id)
    )
    if account_id is not None:
        query = query.where(_accounts.c.id == account_id)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
        urls = _created_urls(connection, [row.id for row in rows])
    return [LiveAccount(row.id, row.exchange, bool(row.is_testnet), _sealed_of(row), urls.get(row.id, {}))
            for row in rows]


def _sealed_of(row: Any) -> dict[str, bytes]:
    """field -> sealed bytes of the credentials the row holds."""
    mapping = row._mapping
    return {name: bytes(mapping[column]) for name, column in _SEALED_COLUMNS if mapping[column] is not None}


def _created_urls(connection: Any, ids: list[str]) -> dict[str, dict[str, str]]:
    """The exchange URLs each account was made with (`AccountCreated.urls`), in one query."""
    if not ids:
        return {}
    rows = connection.execute(
        select(_events.c.payload)
        .where(_events.c.account_id.in_(ids), _events.c.event_type == "AccountCreated")
        .order_by(_events.c.id)
    ).scalars().all()
    urls: dict[str, dict[str, str]] = {}
    for payload in rows:
        event = decode_message("AccountCreated", payload)
        if isinstance(event, AccountCreated):
            urls[event.account_id] = dict(event.urls)
    return urls


def sealed_credentials(engine: Engine) -> list[tuple[str, str, bytes]]:
    """(account id, field, sealed bytes) of every credential the database holds."""
    with engine.connect() as connection:
        rows = connection.execute(select(_accounts.c.id, *(column for _, column in _SEALED_COLUMNS))).all()
    return [(row.id, name, value) for row in rows for name, value in _sealed_of(row).items()]


def _record(row: object, settings: dict[str, tuple[tuple[str, ...], dict[str, Decimal] | None]]) -> AccountRecord:
    mapping = dict(row._mapping)  # type: ignore[attr-defined]
    ip_whitelist, balances = settings.get(mapping["id"], ((), None))
    if mapping["exchange"] != "paper" or mapping["source"] != "api":
        balances = None
    return AccountRecord(
        **{name: bool(value) if name.startswith("has_") else value for name, value in mapping.items()},
        ip_whitelist=ip_whitelist,
        initial_balances=balances,
    )


def _settings(connection: object, ids: Iterable[str]) -> dict[str, tuple[tuple[str, ...], dict[str, Decimal] | None]]:
    """(IP allow-list, opening balances) per account, folded from its journaled events."""
    ids = list(ids)
    if not ids:
        return {}
    rows = connection.execute(  # type: ignore[attr-defined]
        select(_events.c.event_type, _events.c.payload)
        .where(_events.c.account_id.in_(ids), _events.c.event_type.in_(("AccountCreated", "AccountChanged")))
        .order_by(_events.c.id)
    ).all()
    settings: dict[str, tuple[tuple[str, ...], dict[str, Decimal] | None]] = {}
    for event_type, payload in rows:
        event = decode_message(event_type, payload)
        if isinstance(event, AccountCreated):
            settings[event.account_id] = (event.ip_whitelist, dict(event.initial_balances))
        elif isinstance(event, AccountChanged) and event.ip_whitelist is not None:
            _, balances = settings.get(event.account_id, ((), None))
            settings[event.account_id] = (event.ip_whitelist, balances)
    return settings

