"""Login, refresh and logout as blocking functions; the handlers run them in the executor
(scrypt takes ~50 ms of CPU and each step reads or writes the database).

Failed logins count in the users table, so a lockout survives a restart. The API writes
these auth rows itself: they are not domain events, and a login must not wait for the
journal's batches.
"""

from __future__ import annotations

import functools
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from api.auth.passwords import hash_password, verify_password
from api.auth.tokens import TokenIssuer
from api.auth.two_factor import login_code_ok
from api.errors import ApiError
from storage.refresh_tokens import Rotation, add_refresh_token, revoke_refresh_token, rotate_refresh_token
from storage.users import (
    MAX_FAILED_LOGINS,
    User,
    get_user,
    get_user_by_login,
    record_failed_login,
    record_successful_login,
)
from storage.sealing import Sealer


def _wrong_credentials() -> ApiError:
    return ApiError(401, "INVALID_CREDENTIALS", "wrong username or password")


def login(
    engine: Engine,
    tokens: TokenIssuer,
    username: str,
    password: str,
    now: datetime,
    totp_code: str | None = None,
    sealer: Sealer | None = None,
) -> dict[str, Any]:
    """A token pair for the user, or ApiError 401 INVALID_CREDENTIALS / 423 ACCOUNT_LOCKED.
    A user with two-factor login on needs `totp_code` too; a missing or wrong code counts
    as a failed login like a wrong password."""
    user = get_user_by_login(engine, username)
    if user is None:
        verify_password(password, _dummy_hash())  # as slow as a real check: no user probing by timing
        raise _wrong_credentials()
    if user.locked_until is not None and user.locked_until > now:
        raise _locked(user.locked_until, now)
    if not verify_password(password, user.password_hash):
        locked_until = record_failed_login(engine, user.id, now)
        if locked_until is not None:
            raise _locked(locked_until, now)
        raise _wrong_credentials()
    if not user.is_active:
        raise ApiError(401, "INVALID_CREDENTIALS", "this account is disabled")
    if user.totp_secret and not (totp_code and login_code_ok(engine, user, totp_code, sealer, now)):
        locked_until = record_failed_login(engine, user.id, now)
        if locked_until is not None:
            raise _locked(locked_until, now)
        # The password was right: say so much, so a client knows to ask for the code.
        message = "wrong or already used TOTP code" if totp_code else "this account needs a TOTP code (totp_code)"
        raise ApiError(401, "INVALID_CREDENTIALS", message, {"totp_required": True})
    if user.failed_logins or user.locked_until is not None:
        record_successful_login(engine, user.id)
    return token_pair(engine, tokens, user, now)


def refresh(engine: Engine, tokens: TokenIssuer, token: str, now: datetime) -> dict[str, Any]:
    """A new pair for a refresh token, which is revoked by this use (rotation)."""
    claims = tokens.decode(token, "refresh")
    user = get_user(engine, claims["sub"])
    if user is None or not user.is_active:
        raise ApiError(401, "INVALID_TOKEN", "the refresh token's user is gone or disabled")
    successor = tokens.refresh_token(user.id)
    outcome, _ = rotate_refresh_token(
        engine, jti=claims["jti"], token=token, now=now,
        new_jti=successor.jti, new_token=successor.token, new_expires_at=successor.expires_at,
    )
    if outcome is Rotation.EXPIRED:
        raise ApiError(401, "TOKEN_EXPIRED", "the refresh token has expired")
    if outcome is Rotation.REUSED:
        raise ApiError(401, "INVALID_TOKEN", "the refresh token was used or revoked already; log in again")
    if outcome is not Rotation.ROTATED:
        raise ApiError(401, "INVALID_TOKEN", "the refresh token is not valid")
    access = tokens.access_token(user.id, user.role)
    return _pair_body(tokens, access.token, successor.token, user)


def logout(engine: Engine, tokens: TokenIssuer, token: str, now: datetime) -> bool:
    """Revoke a refresh token (expired ones too); False if it was revoked already."""
    claims = tokens.decode(token, "refresh", verify_exp=False)
    return revoke_refresh_token(engine, jti=claims["jti"], token=token, now=now)


def user_body(user: User) -> dict[str, Any]:
    """A user as the API shows them: never the hash or the TOTP secret."""
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role,
        "is_active": user.is_active,
        "totp_enabled": bool(user.totp_secret),
        "preferences": user.preferences,
        "created_at": _iso(user.created_at),
        "updated_at": _iso(user.updated_at),
    }


def token_pair(engine: Engine, tokens: TokenIssuer, user: User, now: datetime) -> dict[str, Any]:
    """A new access token and a recorded refresh token for `user`, as login answers them."""
    access = tokens.access_token(user.id, user.role)
    refresh_token = tokens.refresh_token(user.id)
    add_refresh_token(
        engine, jti=refresh_token.jti, user_id=user.id, token=refresh_token.token,
        expires_at=refresh_token.expires_at, now=now,
    )
    return _pair_body(tokens, access.token, refresh_token.token, user)


def _pair_body(tokens: TokenIssuer, access: str, refresh_token: str, user: User) -> dict[str, Any]:
    return {
        "access_token": access,
        "refresh_token": refresh_token,
        "token_type": "bearer",
        "expires_in": tokens.access_ttl_s,
        "user": user_body(user),
    }


def _locked(until: datetime, now: datetime) -> ApiError:
    retry_after_s = max(1, int((until - now).total_seconds() + 0.999))
    return ApiError(
        423, "ACCOUNT_LOCKED",
        f"too many failed logins ({MAX_FAILED_LOGINS} in a row); try again in {retry_after_s} s",
        {"locked_until": _iso(until), "retry_after_s": retry_after_s},
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))
