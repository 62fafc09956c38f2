from __future__ import annotations

from datetime import timezone

import pytest
from sqlalchemy import Engine

from storage.errors import UserExists
from storage.users import User, create_user, get_user_by_username


def test_create_and_get(engine: Engine) -> None:
    user_id = create_user(
        engine, username="ada", password_hash="scrypt$abc", role="trader", email="ada@example.com",
        full_name="Ada Lovelace",
    )

    user = get_user_by_username(engine, "ada")

    assert isinstance(user, User)
    assert (user.id, user.username, user.email, user.full_name, user.role) == (
        user_id, "ada", "ada@example.com", "Ada Lovelace", "trader"
    )
    assert (user.is_active, user.failed_logins, user.locked_until) == (True, 0, None)
    assert user.preferences == {}
    assert user.created_at.tzinfo is timezone.utc
    assert "scrypt$abc" not in repr(user)


def test_an_unknown_username_is_none(engine: Engine) -> None:
    assert get_user_by_username(engine, "nobody") is None


def test_a_taken_username_is_refused(engine: Engine) -> None:
    create_user(engine, username="ada", password_hash="x", role="admin")

    with pytest.raises(UserExists, match="username"):
        create_user(engine, username="ada", password_hash="y", role="viewer")


def test_a_taken_email_is_refused(engine: Engine) -> None:
    create_user(engine, username="ada", password_hash="x", role="admin", email="a@example.com")

    with pytest.raises(UserExists, match="email"):
        create_user(
            engine, username="bob", password_hash="y", role="viewer", email="a@example.com"
        )


def test_many_users_may_have_no_email(engine: Engine) -> None:
    create_user(engine, username="ada", password_hash="x", role="admin")
    create_user(engine, username="bob", password_hash="x", role="admin")

    assert get_user_by_username(engine, "bob") is not None


def test_an_unknown_role_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="role"):
        create_user(engine, username="ada", password_hash="x", role="root")

    assert get_user_by_username(engine, "ada") is None
