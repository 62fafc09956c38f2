"""The user writes behind profile, password, TOTP and admin routes, on a real database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, insert

from storage.errors import UserExists
from storage.models import AccountRow
from storage.refresh_tokens import add_refresh_token, revoke_refresh_token
from storage.user_admin import Deletion, Holdings, delete_user, list_users, update_access
from storage.user_totp import claim_totp_step, disable_totp, enable_totp, set_totp_pending
from storage.users import create_user, get_user, set_password_hash, update_profile

NOW = datetime(2026, 2, 10, 12, 0, tzinfo=timezone.utc)
LATER = NOW + timedelta(days=7)


def _user(engine: Engine, name: str = "ada", role: str = "trader") -> str:
    return create_user(engine, username=name, password_hash="x", role=role, email=f"{name}@example.com")


def _tokens(engine: Engine, user_id: str, *jtis: str) -> None:
    for jti in jtis:
        add_refresh_token(engine, jti=jti, user_id=user_id, token=f"t-{jti}", expires_at=LATER, now=NOW)


def _live(engine: Engine, jti: str) -> bool:
    """Whether the token is still live (revoking it succeeds; it is spent afterwards)."""
    return revoke_refresh_token(engine, jti=jti, token=f"t-{jti}", now=NOW)


def test_update_profile_sets_only_the_given_fields(engine: Engine) -> None:
    user_id = _user(engine)
    _user(engine, "bob")

    after = update_profile(engine, user_id, {"full_name": "Ada", "preferences": {"theme": "dark"}}, NOW)

    assert after is not None and after.full_name == "Ada" and after.email == "ada@example.com"
    assert after.preferences == {"theme": "dark"} and after.updated_at == NOW
    with pytest.raises(UserExists):
        update_profile(engine, user_id, {"email": "bob@example.com"}, NOW)
    assert update_profile(engine, "nobody", {"full_name": "x"}, NOW) is None


def test_a_password_change_revokes_every_refresh_token(engine: Engine) -> None:
    user_id = _user(engine)
    _tokens(engine, user_id, "a", "b")

    assert set_password_hash(engine, user_id, "new-hash", NOW) == 2
    assert get_user(engine, user_id).password_hash == "new-hash"
    assert not _live(engine, "a") and not _live(engine, "b")


def test_a_totp_step_is_claimed_once_and_only_forward(engine: Engine) -> None:
    user_id = _user(engine)

    assert claim_totp_step(engine, user_id, 100)
    assert not claim_totp_step(engine, user_id, 100)
    assert not claim_totp_step(engine, user_id, 99)
    assert claim_totp_step(engine, user_id, 101)


def test_enable_takes_only_the_pending_secret_it_checked(engine: Engine) -> None:
    user_id = _user(engine)
    set_totp_pending(engine, user_id, "FIRST", NOW)
    set_totp_pending(engine, user_id, "SECOND", NOW)  # a second setup meanwhile

    assert not enable_totp(engine, user_id, "FIRST", 7, NOW)
    assert enable_totp(engine, user_id, "SECOND", 7, NOW)
    user = get_user(engine, user_id)
    assert (user.totp_secret, user.totp_pending, user.totp_last_step) == ("SECOND", None, 7)
    assert not enable_totp(engine, user_id, "SECOND", 8, NOW)  # on already

    assert disable_totp(engine, user_id, NOW)
    user = get_user(engine, user_id)
    assert (user.totp_secret, user.totp_pending, user.totp_last_step) == (None, None, None)


def test_role_change_and_deactivation_revoke_but_a_no_op_does_not(engine: Engine) -> None:
    user_id = _user(engine)
    _tokens(engine, user_id, "a")

    same, revoked_same = update_access(engine, user_id, role="trader", is_active=True, now=NOW)
    assert same.role == "trader" and revoked_same == 0 and _live(engine, "a")

    _tokens(engine, user_id, "b")
    demoted, revoked = update_access(engine, user_id, role="viewer", is_active=None, now=NOW)
    assert demoted.role == "viewer" and revoked == 1 and not _live(engine, "b")

    _tokens(engine, user_id, "c")
    off, revoked_off = update_access(engine, user_id, role=None, is_active=False, now=NOW)
    assert off.is_active is False and revoked_off == 1 and not _live(engine, "c")
    assert update_access(engine, "nobody", role="viewer", is_active=None, now=NOW) == (None, 0)


def test_list_users_pages_and_filters(engine: Engine) -> None:
    for name, role in [("ada", "trader"), ("bob", "viewer"), ("cy", "trader")]:
        _user(engine, name, role)

    page, total = list_users(engine, limit=2, offset=0)
    traders, trader_total = list_users(engine, limit=50, offset=0, role="trader")

    assert total == 3 and len(page) == 2
    assert trader_total == 2 and {user.username for user in traders} == {"ada", "cy"}
    assert list_users(engine, limit=50, offset=0, is_active=False) == ([], 0)


def test_delete_refuses_an_owner_and_cascades_refresh_tokens(engine: Engine) -> None:
    owner = _user(engine)
    other = _user(engine, "bob")
    _tokens(engine, other, "b")
    with engine.begin() as connection:
        connection.execute(insert(AccountRow.__table__), {
            "id": "acct-1", "owner_id": owner, "name": "paper", "exchange": "paper", "source": "api",
            "is_testnet": False, "created_at": NOW, "updated_at": NOW,
        })

    assert delete_user(engine, owner) == (Deletion.OWNS_THINGS, Holdings(bots=0, accounts=1))
    assert delete_user(engine, other)[0] is Deletion.DELETED
    assert delete_user(engine, other)[0] is Deletion.NOT_FOUND
    assert get_user(engine, other) is None and not _live(engine, "b")
