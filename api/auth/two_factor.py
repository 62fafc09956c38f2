"""Two-factor login with TOTP, as blocking functions the handlers run in the executor.

`setup` keeps a new secret pending; `enable` makes it the user's once a code proves the
app has it; `disable` needs a current code or the password. A code is good once: the step
it matched is recorded, and only a later step is accepted after it (replay within the
drift window is refused).

Secrets are sealed with the daemon's encryption key (AES-GCM, bound to the user) when it
has one; without a key they are stored as base32, and the daemon warns. They leave the
daemon only in the answer to `setup`.
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from api.auth import totp
from api.auth.current import active_user
from api.auth.passwords import verify_password
from api.errors import ApiError
from storage.sealing import Sealer, SealingError
from storage.user_totp import claim_totp_step, disable_totp, enable_totp, set_totp_pending
from storage.users import User

logger = logging.getLogger(__name__)

SEALED_PREFIX = "sealed:"
_FIELD = "totp_secret"


def seal_secret(secret: str, user_id: str, sealer: Sealer | None) -> str:
    """The secret as the users table keeps it: `sealed:<base64>`, or base32 without a key."""
    if sealer is None:
        logger.warning("no encryption key set: the TOTP secret of user %s is stored unsealed", user_id)
        return secret
    return SEALED_PREFIX + base64.b64encode(sealer.seal_user(secret, user_id, _FIELD)).decode("ascii")


def open_secret(stored: str, user_id: str, sealer: Sealer | None) -> str:
    """The base32 secret behind a stored value; 503 ENCRYPTION_KEY_MISSING when it is
    sealed and the daemon has no key."""
    if not stored.startswith(SEALED_PREFIX):
        return stored
    if sealer is None:
        raise ApiError(503, "ENCRYPTION_KEY_MISSING",
                       "this user's TOTP secret is sealed and the daemon has no encryption key")
    try:
        return sealer.unseal_user(base64.b64decode(stored[len(SEALED_PREFIX):]), user_id, _FIELD)
    except (SealingError, ValueError) as error:
        raise RuntimeError(f"the TOTP secret of user {user_id} does not open: {error}") from None


def login_code_ok(engine: Engine, user: User, code: str, sealer: Sealer | None, now: datetime) -> bool:
    """Whether `code` is a current, unused code of the user's enabled secret (and spend it)."""
    assert user.totp_secret is not None
    step = totp.matching_step(open_secret(user.totp_secret, user.id, sealer), code, now.timestamp(),
                              after_step=user.totp_last_step)
    return step is not None and claim_totp_step(engine, user.id, step)


def setup(engine: Engine, user_id: str, sealer: Sealer | None, now: datetime) -> dict[str, Any]:
    """A new pending secret for the user, and how an app takes it."""
    user = active_user(engine, user_id)
    if user.totp_secret:
        raise ApiError(409, "CONFLICT", "two-factor login is on already; disable it first to set up a new secret")
    secret = totp.new_secret()
    set_totp_pending(engine, user.id, seal_secret(secret, user.id, sealer), now)
    return {
        "secret": secret,
        "otpauth_uri": totp.provisioning_uri(secret, user.username),
        "issuer": totp.ISSUER,
        "algorithm": "SHA1",
        "digits": totp.DIGITS,
        "period": totp.STEP_S,
    }


def enable(engine: Engine, user_id: str, code: str, sealer: Sealer | None, now: datetime) -> None:
    """Turn two-factor login on with the pending secret, if `code` is one of its codes."""
    user = active_user(engine, user_id)
    if user.totp_secret:
        raise ApiError(409, "CONFLICT", "two-factor login is on already")
    if not user.totp_pending:
        raise ApiError(409, "CONFLICT", "no TOTP secret is set up; call /auth/2fa/setup first")
    step = totp.matching_step(open_secret(user.totp_pending, user.id, sealer), code, now.timestamp())
    if step is None:
        raise _wrong_code()
    if not enable_totp(engine, user.id, user.totp_pending, step, now):
        raise ApiError(409, "CONFLICT", "the TOTP setup changed meanwhile; set it up again")


def disable(
    engine: Engine, user_id: str, code: str | None, password: str | None, sealer: Sealer | None, now: datetime
) -> None:
    """Turn two-factor login off, given a current code or the password."""
    user = active_user(engine, user_id)
    if not user.totp_secret:
        raise ApiError(409, "CONFLICT", "two-factor login is off")
    if code is not None:
        if not login_code_ok(engine, user, code, sealer, now):
            raise _wrong_code()
    elif password is None or not verify_password(password, user.password_hash):
        raise ApiError(401, "INVALID_CREDENTIALS", "wrong password")
    disable_totp(engine, user.id, now)


def _wrong_code() -> ApiError:
    return ApiError(401, "INVALID_CREDENTIALS", "wrong or already used TOTP code")
