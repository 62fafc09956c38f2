"""Registration, profile changes and password changes, as blocking functions the
handlers run in the executor (scrypt and database writes). Each write is its own
transaction on the auth tables, like login's; none goes through the journal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from api.auth.current import active_user
from api.auth.passwords import hash_password, verify_password
from api.auth.sessions import token_pair, user_body
from api.auth.tokens import TokenIssuer
from api.errors import ApiError
from api.schemas.auth import ProfilePatch, RegisterRequest
from storage.errors import UserExists
from storage.users import create_user, get_user, set_password_hash, update_profile

REGISTERED_ROLE = "trader"
"""What self-registration makes: a trader sees and touches only their own bots, accounts
and orders (API.md), which is what the seeds' sign-up flows are for. Admins promote or
demote with `PATCH /users/{id}`."""


def register(engine: Engine, tokens: TokenIssuer, request: RegisterRequest, now: datetime) -> dict[str, Any]:
    """A new trader and their first token pair; 409 CONFLICT for a taken username or email."""
    try:
        user_id = create_user(
            engine, username=request.username, password_hash=hash_password(request.password),
            role=REGISTERED_ROLE, email=request.email, full_name=request.full_name,
        )
    except UserExists as error:
        raise ApiError(409, "CONFLICT", str(error)) from None
    user = get_user(engine, user_id)
    assert user is not None
    return token_pair(engine, tokens, user, now)


def change_profile(engine: Engine, user_id: str, patch: ProfilePatch, now: datetime) -> dict[str, Any]:
    """The user after the patch; 409 CONFLICT when the new email is someone else's."""
    user = active_user(engine, user_id)
    given = patch.model_fields_set
    changes: dict[str, Any] = {name: getattr(patch, name) for name in ("full_name", "email") if name in given}
    if patch.preferences is not None:
        changes["preferences"] = merge_patch(user.preferences, patch.preferences)
    if not changes:
        return user_body(user)
    try:
        changed = update_profile(engine, user.id, changes, now)
    except UserExists as error:
        raise ApiError(409, "CONFLICT", str(error)) from None
    if changed is None:
        raise ApiError(401, "INVALID_TOKEN", "the token's user is gone")
    return user_body(changed)


def change_password(engine: Engine, user_id: str, current: str, new: str, now: datetime) -> int:
    """Set a new password after checking the current one; every refresh token of the
    user is revoked with it (how many is returned)."""
    user = active_user(engine, user_id)
    if not verify_password(current, user.password_hash):
        raise ApiError(401, "INVALID_CREDENTIALS", "the current password is wrong")
    return set_password_hash(engine, user.id, hash_password(new), now)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: objects merge key by key, null removes, the rest replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged
