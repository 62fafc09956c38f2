"""What an admin does to users: list them, change role or active flag, delete them.

A role change or a deactivation revokes the user's refresh tokens in the same
transaction: their sessions end at the latest when the access token runs out (30 min).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from storage.models import AccountRow, BotRow, UserRow
from storage.refresh_tokens import revoke_all_in
from storage.users import User, get_user, user_from_row

_users = UserRow.__table__
_bots = BotRow.__table__
_accounts = AccountRow.__table__


def list_users(
    engine: Engine, *, limit: int, offset: int, role: str | None = None, is_active: bool | None = None
) -> tuple[list[User], int]:
    """A page of users, oldest first, and how many match in all."""
    conditions: list[Any] = []
    if role is not None:
        conditions.append(_users.c.role == role)
    if is_active is not None:
        conditions.append(_users.c.is_active == is_active)
    with engine.connect() as connection:
        total = connection.execute(select(func.count()).select_from(_users).where(*conditions)).scalar_one()
        rows = connection.execute(
            select(_users).where(*conditions).order_by(_users.c.created_at, _users.c.username).limit(limit).offset(offset)
        ).all()
    return [user_from_row(row) for row in rows], total


def update_access(
    engine: Engine, user_id: str, *, role: str | None, is_active: bool | None, now: datetime
) -> tuple[User | None, int]:
    """Set the role and/or the active flag; the user after (None if absent) and how many
    refresh tokens were revoked (a role change or deactivation revokes them all)."""
    values: dict[str, Any] = {"updated_at": now}
    if role is not None:
        values["role"] = role
    if is_active is not None:
        values["is_active"] = is_active
    revoked = 0
    with engine.begin() as connection:
        before = connection.execute(select(_users.c.role, _users.c.is_active).where(_users.c.id == user_id)).first()
        if before is None:
            return None, 0
        connection.execute(update(_users).where(_users.c.id == user_id).values(**values))
        if (role is not None and role != before.role) or (is_active is False and before.is_active):
            revoked = revoke_all_in(connection, user_id, now)
    return get_user(engine, user_id), revoked


class Deletion(enum.Enum):
    DELETED = "deleted"
    NOT_FOUND = "not_found"
    OWNS_THINGS = "owns_things"


@dataclass(frozen=True)
class Holdings:
    """What a user owns that keeps them from being deleted."""

    bots: int
    accounts: int


def delete_user(engine: Engine, user_id: str) -> tuple[Deletion, Holdings]:
    """Delete a user who owns no bots and no exchange accounts (their trading history
    stays attributable); their refresh tokens go with them (ON DELETE CASCADE)."""
    try:
        with engine.begin() as connection:
            holdings = _holdings(connection, user_id)
            if holdings.bots or holdings.accounts:
                return Deletion.OWNS_THINGS, holdings
            gone = connection.execute(delete(_users).where(_users.c.id == user_id)).rowcount
    except IntegrityError:  # a bot or account made for them meanwhile
        with engine.connect() as connection:
            return Deletion.OWNS_THINGS, _holdings(connection, user_id)
    return (Deletion.DELETED if gone else Deletion.NOT_FOUND), holdings


def _holdings(connection: Any, user_id: str) -> Holdings:
    bots = connection.execute(select(func.count()).select_from(_bots).where(_bots.c.owner_id == user_id)).scalar_one()
    accounts = connection.execute(
        select(func.count()).select_from(_accounts).where(_accounts.c.owner_id == user_id)
    ).scalar_one()
    return Holdings(bots=bots, accounts=accounts)
