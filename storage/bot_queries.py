"""Read queries of the bots API: bots, their fills, orders and journal events.

Blocking; the API runs them in its executor. `owner_id=None` means every owner (an admin);
otherwise only that user's rows, so another user's bot is simply not found.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import Row

from storage.models import AccountRow, BotRow, EventRow, FillRow, OrderRow

_bots = BotRow.__table__
_accounts = AccountRow.__table__
_fills = FillRow.__table__
_orders = OrderRow.__table__
_events = EventRow.__table__

_BOT_COLUMNS = (*_bots.c, _accounts.c.exchange.label("exchange"))


def _bots_of(owner_id: str | None) -> Any:
    query = select(*_BOT_COLUMNS).join(_accounts, _accounts.c.id == _bots.c.account_id)
    return query if owner_id is None else query.where(_bots.c.owner_id == owner_id)


def find_bot(engine: Engine, bot_id: str, owner_id: str | None) -> Row[Any] | None:
    """The bot with its account's `exchange`, if `owner_id` (None: anyone) may see it."""
    with engine.connect() as connection:
        return connection.execute(_bots_of(owner_id).where(_bots.c.id == bot_id)).first()


def list_bots(
    engine: Engine, owner_id: str | None, *, status: str | None = None, exchange: str | None = None,
    strategy: str | None = None, symbol: str | None = None,
) -> list[Row[Any]]:
    """Every bot the owner sees that matches the filters, oldest first."""
    query = _bots_of(owner_id)
    if status is not None:
        query = query.where(_bots.c.status == status)
    if exchange is not None:
        query = query.where(_accounts.c.exchange == exchange)
    if strategy is not None:
        query = query.where(_bots.c.strategy == strategy)
    if symbol is not None:
        query = query.where(_bots.c.symbol == symbol)
    with engine.connect() as connection:
        return list(connection.execute(query.order_by(_bots.c.created_at, _bots.c.id)))


def find_account(engine: Engine, account_id: str, owner_id: str | None) -> Row[Any] | None:
    query = select(_accounts).where(_accounts.c.id == account_id)
    if owner_id is not None:
        query = query.where(_accounts.c.owner_id == owner_id)
    with engine.connect() as connection:
        return connection.execute(query).first()


def name_taken(engine: Engine, owner_id: str | None, name: str, except_id: str | None = None) -> bool:
    """Whether the owner (None: config bots and admins' own) already has a bot so named."""
    owner = _bots.c.owner_id.is_(None) if owner_id is None else _bots.c.owner_id == owner_id
    query = select(_bots.c.id).where(owner, _bots.c.name == name)
    if except_id is not None:
        query = query.where(_bots.c.id != except_id)
    with engine.connect() as connection:
        return connection.execute(query.limit(1)).first() is not None


def bot_fills(
    engine: Engine, bot_id: str, *, start: datetime | None = None, end: datetime | None = None,
    limit: int | None = None, offset: int = 0,
) -> tuple[list[Row[Any]], int]:
    """The bot's fills, newest first, with their order's client id; and how many match."""
    where = [_fills.c.bot_id == bot_id]
    if start is not None:
        where.append(_fills.c.ts >= start)
    if end is not None:
        where.append(_fills.c.ts < end)
    query = (
        select(*_fills.c, _orders.c.client_order_id, _orders.c.grid_index)
        .join(_orders, _orders.c.id == _fills.c.order_id)
        .where(*where)
        .order_by(_fills.c.ts.desc(), _fills.c.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as connection:
        rows = list(connection.execute(query))
        total = connection.execute(select(func.count()).select_from(_fills).where(*where)).scalar_one()
    return rows, total


def bot_orders(
    engine: Engine, bot_id: str, *, statuses: Sequence[str] | None = None, limit: int = 50, offset: int = 0,
) -> tuple[list[Row[Any]], int]:
    """The bot's orders, newest first; and how many match."""
    where = [_orders.c.bot_id == bot_id]
    if statuses is not None:
        where.append(_orders.c.status.in_(list(statuses)))
    query = select(_orders).where(*where).order_by(_orders.c.created_at.desc(), _orders.c.id)
    with engine.connect() as connection:
        rows = list(connection.execute(query.limit(limit).offset(offset)))
        total = connection.execute(select(func.count()).select_from(_orders).where(*where)).scalar_one()
    return rows, total


def bot_events(engine: Engine, bot_id: str, *, limit: int = 50, offset: int = 0) -> tuple[list[Row[Any]], int]:
    """The bot's journal events, newest first; and how many it has."""
    where = _events.c.bot_id == bot_id
    with engine.connect() as connection:
        rows = list(connection.execute(
            select(_events).where(where).order_by(_events.c.id.desc()).limit(limit).offset(offset)
        ))
        total = connection.execute(select(func.count()).select_from(_events).where(where)).scalar_one()
    return rows, total


def last_fill_times(engine: Engine, bot_ids: Sequence[str]) -> dict[str, datetime]:
    """bot id -> the time of its latest fill (bots without fills are absent)."""
    if not bot_ids:
        return {}
    query = select(_fills.c.bot_id, func.max(_fills.c.ts)).where(_fills.c.bot_id.in_(list(bot_ids))).group_by(_fills.c.bot_id)
    with engine.connect() as connection:
        return {bot_id: ts for bot_id, ts in connection.execute(query)}


def order_counts(engine: Engine, bot_ids: Sequence[str]) -> tuple[int, int]:
    """(orders the bots decided on, orders of theirs filled in full)."""
    if not bot_ids:
        return 0, 0
    mine = _orders.c.bot_id.in_(list(bot_ids))
    with engine.connect() as connection:
        decided = connection.execute(select(func.count()).select_from(_orders).where(mine)).scalar_one()
        filled = connection.execute(
            select(func.count()).select_from(_orders).where(mine, _orders.c.status == "FILLED")
        ).scalar_one()
    return decided, filled


def bots_with_last_fills(engine: Engine, bot_ids: Sequence[str]) -> tuple[dict[str, Row[Any]], dict[str, datetime]]:
    """The bots among `bot_ids` that exist (any owner) and their latest fill times: what the
    API's read model of bots keeps, in one connection."""
    ids = list(bot_ids)
    with engine.connect() as connection:
        rows = {row.id: row for row in connection.execute(_bots_of(None).where(_bots.c.id.in_(ids)))}
        last = select(_fills.c.bot_id, func.max(_fills.c.ts)).where(_fills.c.bot_id.in_(ids)).group_by(_fills.c.bot_id)
        return rows, {bot_id: ts for bot_id, ts in connection.execute(last)}
