"""Refresh tokens: recorded when issued, used once (rotation), revoked by logout.

A row is keyed by the token's `jti` and holds the SHA-256 of the whole token, never the
token. Presenting a token that was already used is a sign it was stolen (either the
thief or the user used it first), so it revokes every refresh token of that user.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime

from sqlalchemy import Connection, Engine, insert, select, update

from storage.models import RefreshTokenRow

_tokens = RefreshTokenRow.__table__


class Rotation(enum.Enum):
    """What `rotate_refresh_token` made of the token it was shown."""

    ROTATED = "rotated"
    UNKNOWN = "unknown"  # never issued here, or its hash does not match
    EXPIRED = "expired"
    REUSED = "reused"  # used or revoked before: all of the user's tokens are revoked now


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_refresh_token(
    engine: Engine, *, jti: str, user_id: str, token: str, expires_at: datetime, now: datetime
) -> None:
    with engine.begin() as connection:
        connection.execute(insert(_tokens), _row(jti, user_id, token, expires_at, now))


def rotate_refresh_token(
    engine: Engine,
    *,
    jti: str,
    token: str,
    now: datetime,
    new_jti: str,
    new_token: str,
    new_expires_at: datetime,
) -> tuple[Rotation, str | None]:
    """Revoke the token `jti` and record its successor, in one transaction.

    Returns the outcome and the token's user id (None when UNKNOWN). Only ROTATED
    records the new token. Of two requests racing with the same token, one rotates and
    the other sees it as REUSED.
    """
    # The write comes first: it takes the write lock at once (SQLite cannot upgrade a
    # reading transaction while another writes), and it is the check-and-set itself.
    with engine.begin() as connection:
        used = connection.execute(
            update(_tokens)
            .where(
                _tokens.c.id == jti,
                _tokens.c.token_hash == token_hash(token),
                _tokens.c.revoked_at.is_(None),
                _tokens.c.expires_at > now,
            )
            .values(revoked_at=now)
        ).rowcount
        row = connection.execute(select(_tokens).where(_tokens.c.id == jti)).first()
        if row is None or row.token_hash != token_hash(token):
            return Rotation.UNKNOWN, None
        if used == 1:
            connection.execute(insert(_tokens), _row(new_jti, row.user_id, new_token, new_expires_at, now))
            return Rotation.ROTATED, row.user_id
        if row.revoked_at is None:
            return Rotation.EXPIRED, row.user_id
        connection.execute(
            update(_tokens)
            .where(_tokens.c.user_id == row.user_id, _tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    return Rotation.REUSED, row.user_id


def revoke_refresh_token(engine: Engine, *, jti: str, token: str, now: datetime) -> bool:
    """Revoke one token (logout); False if it is unknown or was revoked already."""
    with engine.begin() as connection:
        return connection.execute(
            update(_tokens)
            .where(_tokens.c.id == jti, _tokens.c.token_hash == token_hash(token), _tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount == 1


def revoke_user_refresh_tokens(engine: Engine, user_id: str, now: datetime) -> int:
    """Revoke every live refresh token of a user (password or role change); how many."""
    with engine.begin() as connection:
        return revoke_all_in(connection, user_id, now)


def revoke_all_in(connection: Connection, user_id: str, now: datetime) -> int:
    """`revoke_user_refresh_tokens` inside the caller's transaction, so the change that
    calls for it and the revocation commit together."""
    return connection.execute(
        update(_tokens).where(_tokens.c.user_id == user_id, _tokens.c.revoked_at.is_(None)).values(revoked_at=now)
    ).rowcount


def _row(jti: str, user_id: str, token: str, expires_at: datetime, now: datetime) -> dict[str, object]:
    return {
        "id": jti,
        "user_id": user_id,
        "token_hash": token_hash(token),
        "expires_at": expires_at,
        "created_at": now,
        "revoked_at": None,
    }
