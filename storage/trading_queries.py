"""Read queries of the API's orders, trades, positions, portfolio and dashboard.

Every query takes `owner_id`: the user whose rows it may return (through the account or
the bot a row belongs to), or None for all rows (an admin). Money columns are text on
SQLite, so sums and orderings of money are done by the callers, in Python.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, true
from sqlalchemy.engine import Row
from sqlalchemy.sql import ColumnElement, Select

from storage.models import AccountRow, BotRow, EventRow, FillRow, OrderRow, PaperBalanceRow

_orders = OrderRow.__table__
_fills = FillRow.__table__
_accounts = AccountRow.__table__
_bots = BotRow.__table__
_events = EventRow.__table__
_balances = PaperBalanceRow.__table__


def _owned(account_column: Any, bot_column: Any | None, owner_id: str | None) -> ColumnElement[bool]:
    """Rows of an account or a bot that `owner_id` owns; every row for None."""
    if owner_id is None:
        return true()
    condition = account_column.in_(select(_accounts.c.id).where(_accounts.c.owner_id == owner_id))
    if bot_column is None:
        return condition
    return or_(condition, bot_column.in_(select(_bots.c.id).where(_bots.c.owner_id == owner_id)))


def visible_accounts(engine: Engine, owner_id: str | None) -> list[Row[Any]]:
    """id, name, exchange, owner_id of the accounts `owner_id` may see."""
    query = select(_accounts.c.id, _accounts.c.name, _accounts.c.exchange, _accounts.c.owner_id)
    if owner_id is not None:
        query = query.where(_accounts.c.owner_id == owner_id)
    with engine.connect() as connection:
        return list(connection.execute(query.order_by(_accounts.c.created_at, _accounts.c.id)))


def account_visible(engine: Engine, owner_id: str | None, account_id: str) -> bool:
    query = select(_accounts.c.id).where(_accounts.c.id == account_id, _owned(_accounts.c.id, None, owner_id))
    with engine.connect() as connection:
        return connection.execute(query).first() is not None


# -- orders -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderFilter:
    bot_id: str | None = None
    account_id: str | None = None
    symbol: str | None = None
    side: str | None = None
    statuses: Sequence[str] | None = None
    """Internal statuses (`OrderStatus` values); None for every status."""


def _order_conditions(owner_id: str | None, where: OrderFilter) -> list[ColumnElement[bool]]:
    conditions = [_owned(_orders.c.account_id, _orders.c.bot_id, owner_id)]
    for column, value in (
        (_orders.c.bot_id, where.bot_id), (_orders.c.account_id, where.account_id),
        (_orders.c.symbol, where.symbol), (_orders.c.side, where.side),
    ):
        if value is not None:
            conditions.append(column == value)
    if where.statuses is not None:
        conditions.append(_orders.c.status.in_(list(where.statuses)))
    return conditions


def _page(connection: Any, query: Select[Any], conditions: list[ColumnElement[bool]], order_by: Sequence[Any], limit: int, offset: int) -> tuple[list[Row[Any]], int]:
    total = connection.execute(select(func.count()).select_from(query.where(*conditions).subquery())).scalar_one()
    rows = list(connection.execute(query.where(*conditions).order_by(*order_by).limit(limit).offset(offset)))
    return rows, total


def list_orders(engine: Engine, owner_id: str | None, where: OrderFilter, limit: int, offset: int) -> tuple[list[Row[Any]], int]:
    """A page of orders, newest first, and how many match in all."""
    with engine.connect() as connection:
        return _page(
            connection, select(_orders), _order_conditions(owner_id, where),
            (_orders.c.created_at.desc(), _orders.c.client_order_id.desc()), limit, offset,
        )


def find_order(engine: Engine, owner_id: str | None, order_id: str) -> Row[Any] | None:
    """One order by its id or its client order id, if `owner_id` may see it."""
    query = select(_orders).where(
        or_(_orders.c.id == order_id, _orders.c.client_order_id == order_id),
        _owned(_orders.c.account_id, _orders.c.bot_id, owner_id),
    )
    with engine.connect() as connection:
        return connection.execute(query).first()


def order_counts(engine: Engine, owner_id: str | None, where: OrderFilter) -> list[tuple[str, str, int]]:
    """(status, side, count) of the matching orders."""
    query = (
        select(_orders.c.status, _orders.c.side, func.count())
        .where(*_order_conditions(owner_id, where))
        .group_by(_orders.c.status, _orders.c.side)
    )
    with engine.connect() as connection:
        return [(status, side, count) for status, side, count in connection.execute(query)]


# -- fills --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FillFilter:
    symbol: str | None = None
    side: str | None = None
    bot_id: str | None = None
    account_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None


def _fill_conditions(owner_id: str | None, where: FillFilter) -> list[ColumnElement[bool]]:
    conditions = [_owned(_fills.c.account_id, _fills.c.bot_id, owner_id)]
    for column, value in (
        (_fills.c.symbol, where.symbol), (_fills.c.side, where.side),
        (_fills.c.bot_id, where.bot_id), (_fills.c.account_id, where.account_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if where.start is not None:
        conditions.append(_fills.c.ts >= where.start)
    if where.end is not None:
        conditions.append(_fills.c.ts < where.end)
    return conditions


_FILL_COLUMNS = (*_fills.c, _orders.c.client_order_id)
_FILLS = select(*_FILL_COLUMNS).select_from(_fills.join(_orders, _fills.c.order_id == _orders.c.id))


def list_fills(engine: Engine, owner_id: str | None, where: FillFilter, limit: int, offset: int) -> tuple[list[Row[Any]], int]:
    """A page of fills, newest first, with their order's client id."""
    with engine.connect() as connection:
        return _page(connection, _FILLS, _fill_conditions(owner_id, where), (_fills.c.ts.desc(), _fills.c.id), limit, offset)


def all_fills(engine: Engine, owner_id: str | None, where: FillFilter = FillFilter()) -> list[Row[Any]]:
    """Every matching fill, oldest first (the order cost basis needs)."""
    query = _FILLS.where(*_fill_conditions(owner_id, where)).order_by(_fills.c.ts, _fills.c.id)
    with engine.connect() as connection:
        return list(connection.execute(query))


# -- balances, bots, activity -------------------------------------------------------------


def paper_balances(engine: Engine, owner_id: str | None) -> list[Row[Any]]:
    """account_id, asset, free, locked of the visible accounts' paper balances."""
    query = select(_balances).where(_owned(_balances.c.account_id, None, owner_id)).order_by(
        _balances.c.account_id, _balances.c.asset
    )
    with engine.connect() as connection:
        return list(connection.execute(query))


def bot_statuses(engine: Engine, owner_id: str | None) -> list[str]:
    """The status of every bot `owner_id` may see."""
    query = select(_bots.c.status)
    if owner_id is not None:
        query = query.where(_bots.c.owner_id == owner_id)
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


def recent_events(engine: Engine, owner_id: str | None, event_types: Sequence[str], limit: int, offset: int) -> tuple[list[Row[Any]], int]:
    """A page of journaled events of these types, newest first, of the visible accounts
    and bots."""
    conditions = [
        _events.c.event_type.in_(list(event_types)),
        or_(_events.c.account_id.is_not(None), _events.c.bot_id.is_not(None)),
    ]
    if owner_id is not None:
        conditions.append(or_(
            and_(_events.c.account_id.is_not(None), _owned(_events.c.account_id, None, owner_id)),
            and_(_events.c.bot_id.is_not(None), _events.c.bot_id.in_(select(_bots.c.id).where(_bots.c.owner_id == owner_id))),
        ))
    with engine.connect() as connection:
        return _page(connection, select(_events), conditions, (_events.c.id.desc(),), limit, offset)


def last_manual_sequence(engine: Engine, account_id: str) -> int:
    """The last manual order sequence journaled for `account_id` (0 before the first)."""
    query = (
        select(_events.c.payload)
        .where(_events.c.event_type == "ManualOrderRequested", _events.c.account_id == account_id)
        .order_by(_events.c.id.desc())
        .limit(1)
    )
    with engine.connect() as connection:
        payload = connection.execute(query).scalar()
    return 0 if payload is None else int(json.loads(payload)["sequence"])
