"""The TOTP columns of a user: a pending secret, the enabled one, the last step used.

Each write is one conditional UPDATE, so two requests racing with the same code cannot
both succeed: the step is claimed only if it is newer than the last one claimed.
Secrets arrive here as the API stores them (sealed or not); this module never reads one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, or_, update

from storage.models import UserRow

_users = UserRow.__table__


def set_totp_pending(engine: Engine, user_id: str, stored_secret: str, now: datetime) -> bool:
    """Keep a new secret pending until a code confirms it (a second setup replaces it)."""
    with engine.begin() as connection:
        return connection.execute(
            update(_users).where(_users.c.id == user_id).values(totp_pending=stored_secret, updated_at=now)
        ).rowcount == 1


def enable_totp(engine: Engine, user_id: str, stored_pending: str, step: int, now: datetime) -> bool:
    """Make the pending secret the user's (if it is still `stored_pending`), with `step`
    spent; False if the pending secret changed meanwhile or 2FA is on already."""
    with engine.begin() as connection:
        return connection.execute(
            update(_users)
            .where(_users.c.id == user_id, _users.c.totp_pending == stored_pending, _users.c.totp_secret.is_(None))
            .values(totp_secret=stored_pending, totp_pending=None, totp_last_step=step, updated_at=now)
        ).rowcount == 1


def disable_totp(engine: Engine, user_id: str, now: datetime) -> bool:
    """Turn two-factor login off: forget the secret, any pending one, and the last step."""
    with engine.begin() as connection:
        return connection.execute(
            update(_users)
            .where(_users.c.id == user_id)
            .values(totp_secret=None, totp_pending=None, totp_last_step=None, updated_at=now)
        ).rowcount == 1


def claim_totp_step(engine: Engine, user_id: str, step: int) -> bool:
    """Spend the code of `step`: True only if no code of this step or a later one was
    accepted before (RFC 6238 5.2: a code is good once)."""
    with engine.begin() as connection:
        return connection.execute(
            update(_users)
            .where(_users.c.id == user_id, or_(_users.c.totp_last_step.is_(None), _users.c.totp_last_step < step))
            .values(totp_last_step=step)
        ).rowcount == 1
