"""Users: create them and look them up, as plain records."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from storage.errors import UserExists
from storage.models import ROLES, UserRow
from trading.messages import new_id

_users = UserRow.__table__


@dataclasses.dataclass(frozen=True)
class User:
    """One row of `users`. The hash and TOTP secret stay out of `repr`, hence out of logs."""

    id: str
    username: str
    email: str | None
    password_hash: str = dataclasses.field(repr=False)
    role: str
    is_active: bool
    full_name: str | None
    totp_secret: str | None = dataclasses.field(repr=False)
    failed_logins: int
    locked_until: datetime | None
    preferences: dict[str, Any] = dataclasses.field(hash=False)
    created_at: datetime
    updated_at: datetime


def create_user(
    engine: Engine,
    *,
    username: str,
    password_hash: str,
    role: str,
    email: str | None = None,
    full_name: str | None = None,
) -> str:
    """Add a user and return their id; `UserExists` if the username or email is taken."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    user_id = new_id()
    now = datetime.now(timezone.utc)
    row = {
        "id": user_id,
        "username": username,
        "email": email,
        "password_hash": password_hash,
        "role": role,
        "full_name": full_name,
        "created_at": now,
        "updated_at": now,
    }
    try:
        with engine.begin() as connection:
            connection.execute(insert(_users), row)
    except IntegrityError as error:
        raise UserExists(_which_is_taken(engine, username, email)) from error
    return user_id


def get_user_by_username(engine: Engine, username: str) -> User | None:
    """The user with this username, or None."""
    with engine.connect() as connection:
        row = connection.execute(select(_users).where(_users.c.username == username)).first()
    if row is None:
        return None
    values = row._asdict()
    values["preferences"] = json.loads(values["preferences"])
    return User(**values)


def _which_is_taken(engine: Engine, username: str, email: str | None) -> str:
    """Whether the username or else the email clashed, in words."""
    query = select(_users.c.id).where(_users.c.username == username)
    with engine.connect() as connection:
        if connection.execute(query).first() is not None:
            return f"username {username!r} is taken"
    return f"email {email!r} is taken"
