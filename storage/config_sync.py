"""Accounts and bots defined in config files, written into their tables at start.

The API (and foreign keys) need a row for every account and bot; config-file ones get
stable ids derived from their config ids, so a restart finds the same rows and the same
journal history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.engine import Connection

from storage.models import AccountRow, BotRow

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://traderd/config")


def config_bot_id(config_key: str) -> str:
    """The stable id of the bot with config id `config_key`."""
    return str(uuid.uuid5(_NAMESPACE, f"bot:{config_key}"))


def bot_tag(bot_id: str) -> str:
    """The bot's short tag in client order ids: 8 hex digits of its id."""
    return uuid.UUID(bot_id).hex[:8]


@dataclass(frozen=True)
class ConfigAccount:
    id: str
    exchange: str
    is_testnet: bool = False


@dataclass(frozen=True)
class ConfigBot:
    config_key: str
    account_id: str
    name: str
    strategy: str
    symbol: str
    config_json: str

    @property
    def id(self) -> str:
        return config_bot_id(self.config_key)


def sync_config_objects(engine: Engine, accounts: list[ConfigAccount], bots: list[ConfigBot]) -> None:
    """Insert or update the rows of config accounts and bots (one transaction)."""
    with engine.begin() as connection:
        upsert_config_objects(connection, accounts, bots, datetime.now(timezone.utc))


def upsert_config_objects(
    connection: Connection, accounts: list[ConfigAccount], bots: list[ConfigBot], now: datetime
) -> None:
    """The upsert of `sync_config_objects` on a connection in a transaction (the journal's,
    when a reload syncs a bot)."""
    accounts_table, bots_table = AccountRow.__table__, BotRow.__table__
    for account in accounts:
        values = {"name": account.id, "exchange": account.exchange, "is_testnet": account.is_testnet, "updated_at": now}
        exists = connection.execute(select(accounts_table.c.id).where(accounts_table.c.id == account.id)).first()
        if exists:
            connection.execute(update(accounts_table).where(accounts_table.c.id == account.id).values(**values))
        else:
            connection.execute(insert(accounts_table).values(id=account.id, source="config", created_at=now, **values))
    for bot in bots:
        values = {
            "account_id": bot.account_id, "name": bot.name, "strategy": bot.strategy,
            "symbol": bot.symbol, "config": bot.config_json, "updated_at": now,
        }
        exists = connection.execute(select(bots_table.c.id).where(bots_table.c.id == bot.id)).first()
        if exists:
            connection.execute(update(bots_table).where(bots_table.c.id == bot.id).values(**values))
        else:
            connection.execute(insert(bots_table).values(
                id=bot.id, source="config", config_key=bot.config_key, tag=bot_tag(bot.id),
                status="stopped", created_at=now, **values,
            ))
