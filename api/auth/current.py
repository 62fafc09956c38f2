"""The caller's own user record, read fresh from the database.

Access tokens are checked by signature only (no database read per request), so routes
that act on the caller's account read the row and refuse a user deleted or disabled
since the token was issued.
"""

from __future__ import annotations

from sqlalchemy import Engine

from api.errors import ApiError
from storage.users import User, get_user


def active_user(engine: Engine, user_id: str) -> User:
    """The token's user, or 401 INVALID_TOKEN when they are gone or disabled. Blocking."""
    user = get_user(engine, user_id)
    if user is None or not user.is_active:
        raise ApiError(401, "INVALID_TOKEN", "the token's user is gone or disabled")
    return user
