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
from storage.refresh_tokens import revoke_all_in
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
    totp_pending: str | None = dataclasses.field(repr=False)
    totp_last_step: int | None


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


def update_profile(engine: Engine, user_id: str, changes: dict[str, Any], now: datetime) -> User | None:
    """Set some of `full_name`, `email` and `preferences` (a dict); the user after, or None
    if there is no such user. `UserExists` if the new email is taken."""
    values = {name: changes[name] for name in ("full_name", "email") if name in changes}
    if "preferences" in changes:
        values["preferences"] = json.dumps(changes["preferences"], separators=(",", ":"), sort_keys=True)
    try:
        with engine.begin() as connection:
            found = connection.execute(update(_users).where(_users.c.id == user_id).values(**values, updated_at=now)).rowcount
    except IntegrityError as error:
        raise UserExists(f"email {changes.get('email')!r} is taken") from error
    return get_user(engine, user_id) if found else None


def set_password_hash(engine: Engine, user_id: str, password_hash: str, now: datetime) -> int:
    """Change a user's password and revoke all their refresh tokens, in one transaction
    (a password change ends every other session); how many tokens were revoked."""
    with engine.begin() as connection:
        connection.execute(update(_users).where(_users.c.id == user_id).values(password_hash=password_hash, updated_at=now))
        return revoke_all_in(connection, user_id, now)


def user_from_row(row: Any) -> User:
    """A `User` from a row of `select(users)`."""
    values = row._asdict()
    values["preferences"] = json.loads(values["preferences"])
    return User(**values)


def _one(engine: Engine, condition: Any) -> User | None:
    with engine.connect() as connection:
        row = connection.execute(select(_users).where(condition)).first()
    return None if row is None else user_from_row(row)


def _which_is_taken(engine: Engine, username: str, email: str | None) -> str:
    """Whether the username or else the email clashed, in words."""
    query = select(_users.c.id).where(_users.c.username == username)
    with engine.connect() as connection:
        if connection.execute(query).first() is not None:
            return f"username {username!r} is taken"
    return f"email {email!r} is taken"
