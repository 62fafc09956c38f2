"""Users: create them and look them up, as plain records."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from storage.errors import UserExists
from storage.models import ROLES, UserRow
from trading.messages import new_id

_users = UserRow.__table__

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


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
    return _one(engine, _users.c.username == username)


def get_user(engine: Engine, user_id: str) -> User | None:
    """The user with this id, or None."""
    return _one(engine, _users.c.id == user_id)


def get_user_by_login(engine: Engine, login: str) -> User | None:
    """The user whose username, or else whose email, is `login`; or None."""
    return _one(engine, _users.c.username == login) or (
        _one(engine, _users.c.email == login) if "@" in login else None
    )


def record_failed_login(
    engine: Engine,
    user_id: str,
    now: datetime,
    *,
    max_failures: int = MAX_FAILED_LOGINS,
    lock_for: timedelta = LOCKOUT,
) -> datetime | None:
    """Count a failed login. The `max_failures`th in a row locks the user until
    `now + lock_for` (returned) and starts the count afresh for after the lock.

    The count lives in the row, so a restart does not forgive it; the increment is one
    UPDATE, so concurrent attempts cannot both read the same count.
    """
    where = _users.c.id == user_id
    with engine.begin() as connection:
        connection.execute(update(_users).where(where).values(failed_logins=_users.c.failed_logins + 1))
        failures = connection.execute(select(_users.c.failed_logins).where(where)).scalar_one_or_none()
        if failures is None or failures < max_failures:
            return None
        until = now + lock_for
        connection.execute(update(_users).where(where).values(failed_logins=0, locked_until=until))
    return until


def record_successful_login(engine: Engine, user_id: str) -> None:
    """Forget earlier failures: the count is of failures in a row."""
    row = (_users.c.id == user_id) & or_(_users.c.failed_logins != 0, _users.c.locked_until.is_not(None))
    with engine.begin() as connection:
        connection.execute(update(_users).where(row).values(failed_logins=0, locked_until=None))


def _one(engine: Engine, condition: Any) -> User | None:
    with engine.connect() as connection:
        row = connection.execute(select(_users).where(condition)).first()
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
