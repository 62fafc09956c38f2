from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine

from storage.refresh_tokens import (
    Rotation,
    add_refresh_token,
    revoke_refresh_token,
    revoke_user_refresh_tokens,
    rotate_refresh_token,
)
from storage.users import create_user, get_user, record_failed_login, record_successful_login

NOW = datetime(2026, 2, 2, 12, 0, tzinfo=timezone.utc)
LATER = NOW + timedelta(days=7)


def _user(engine: Engine) -> str:
    return create_user(engine, username="ada", password_hash="x", role="trader")


def _rotate(engine: Engine, jti: str, token: str, new: str, now: datetime = NOW) -> tuple[Rotation, str | None]:
    return rotate_refresh_token(
        engine, jti=jti, token=token, now=now, new_jti=new, new_token=f"token-{new}", new_expires_at=LATER
    )


def test_a_token_rotates_once_and_its_reuse_revokes_the_successor(engine: Engine) -> None:
    user_id = _user(engine)
    add_refresh_token(engine, jti="a", user_id=user_id, token="token-a", expires_at=LATER, now=NOW)

    assert _rotate(engine, "a", "token-a", "b") == (Rotation.ROTATED, user_id)
    assert _rotate(engine, "a", "token-a", "c") == (Rotation.REUSED, user_id)
    assert _rotate(engine, "b", "token-b", "d") == (Rotation.REUSED, user_id)


def test_unknown_mismatched_and_expired_tokens_do_not_rotate(engine: Engine) -> None:
    user_id = _user(engine)
    add_refresh_token(engine, jti="a", user_id=user_id, token="token-a", expires_at=NOW + timedelta(seconds=1), now=NOW)

    assert _rotate(engine, "zz", "token-zz", "b") == (Rotation.UNKNOWN, None)
    assert _rotate(engine, "a", "token-forged", "b") == (Rotation.UNKNOWN, None)
    assert _rotate(engine, "a", "token-a", "b", now=NOW + timedelta(seconds=2)) == (Rotation.EXPIRED, user_id)
    assert _rotate(engine, "a", "token-a", "b") == (Rotation.ROTATED, user_id)  # the failures changed nothing


def test_revocation_by_logout_and_for_the_whole_user(engine: Engine) -> None:
    user_id = _user(engine)
    for jti in "abc":
        add_refresh_token(engine, jti=jti, user_id=user_id, token=f"token-{jti}", expires_at=LATER, now=NOW)

    assert revoke_refresh_token(engine, jti="a", token="token-a", now=NOW) is True
    assert revoke_refresh_token(engine, jti="a", token="token-a", now=NOW) is False
    assert revoke_user_refresh_tokens(engine, user_id, NOW) == 2
    assert _rotate(engine, "b", "token-b", "d")[0] is Rotation.REUSED


def test_the_fifth_failure_in_a_row_locks_and_restarts_the_count(engine: Engine) -> None:
    user_id = _user(engine)

    assert [record_failed_login(engine, user_id, NOW) for _ in range(4)] == [None] * 4
    assert record_failed_login(engine, user_id, NOW) == NOW + timedelta(minutes=15)
    user = get_user(engine, user_id)
    assert (user.failed_logins, user.locked_until) == (0, NOW + timedelta(minutes=15))

    record_successful_login(engine, user_id)
    user = get_user(engine, user_id)
    assert (user.failed_logins, user.locked_until) == (0, None)
