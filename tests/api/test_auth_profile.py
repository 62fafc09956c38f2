"""Registration, the caller's profile and password change, over real HTTP against a
real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from api.auth.passwords import verify_password
from api.ratelimit import RateLimiter
from storage.models import UserRow
from storage.users import create_user, get_user_by_username
from tests.api.auth_helpers import PASSWORD, access_token, add_user, bearer, login, post_json, send_json, serve

REGISTER = "/api/v1/auth/register"
PROFILE = "/api/v1/auth/profile"
ME = "/api/v1/auth/me"
CHANGE = "/api/v1/auth/change-password"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def server(engine: Engine):
    live = serve(engine)
    yield live
    live.close()


@pytest.fixture
def open_server(engine: Engine):
    live = serve(engine, allow_registration=True)
    yield live
    live.close()


def _count_users(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(UserRow.__table__)).scalar_one()


# -- registration ------------------------------------------------------------------------


def test_registration_is_off_by_default(engine, server):
    reply = post_json(server, REGISTER, {"username": "eve", "email": "eve@example.com", "password": NEW_PASSWORD})

    assert reply.status == 403 and reply.body["code"] == "INSUFFICIENT_PERMISSION"
    assert "allow_registration" in reply.body["message"]
    assert _count_users(engine) == 0


def test_registration_makes_a_trader_with_a_working_token_pair(engine, open_server):
    reply = post_json(open_server, REGISTER, {
        "username": "ada", "email": "ada@example.com", "password": NEW_PASSWORD, "full_name": "Ada L",
    })

    assert reply.status == 201, reply.body
    body = reply.body
    assert body["token_type"] == "bearer" and body["expires_in"] == 1800
    assert body["user"]["role"] == "trader" and body["user"]["full_name"] == "Ada L"
    assert body["user"]["totp_enabled"] is False and "password_hash" not in body["user"]
    me = open_server.request("GET", ME, headers=bearer(body["access_token"]))
    assert me.status == 200 and me.body["email"] == "ada@example.com"
    assert post_json(open_server, "/api/v1/auth/refresh", {"refresh_token": body["refresh_token"]}).status == 200
    assert login(open_server, "ada", NEW_PASSWORD).status == 200
    assert NEW_PASSWORD not in get_user_by_username(engine, "ada").password_hash


@pytest.mark.parametrize("clash", [{"username": "ada", "email": "other@example.com"},
                                   {"username": "other", "email": "ada@example.com"}], ids=["username", "email"])
def test_a_taken_username_or_email_is_409(engine, open_server, clash):
    create_user(engine, username="ada", password_hash="x", role="viewer", email="ada@example.com")

    reply = post_json(open_server, REGISTER, {**clash, "password": NEW_PASSWORD})

    assert reply.status == 409 and reply.body["code"] == "CONFLICT"
    assert _count_users(engine) == 1


@pytest.mark.parametrize("body,field", [
    ({"username": "ada", "email": "ada@example.com", "password": "short"}, "password"),
    ({"username": "a@b", "email": "ada@example.com", "password": NEW_PASSWORD}, "username"),
    ({"username": "ada", "email": "not-an-email", "password": NEW_PASSWORD}, "email"),
    ({"username": "ada", "password": NEW_PASSWORD}, "email"),
    ({"username": "ada", "email": "ada@example.com", "password": NEW_PASSWORD, "role": "admin"}, "role"),
], ids=["short-password", "at-in-username", "bad-email", "no-email", "role-smuggled"])
def test_registration_validates_with_422(engine, open_server, body, field):
    reply = post_json(open_server, REGISTER, body)

    assert reply.status == 422 and reply.body["code"] == "VALIDATION_ERROR"
    assert ["body", field] in [error["loc"] for error in reply.body["details"]["errors"]]
    assert _count_users(engine) == 0


def test_a_short_password_says_how_long_it_must_be(open_server):
    reply = post_json(open_server, REGISTER, {"username": "ada", "email": "ada@example.com", "password": "nine char"})

    assert reply.body["details"]["errors"][0]["msg"] == "String should have at least 10 characters"


def test_registration_counts_in_the_auth_rate_limit(engine):
    live = serve(engine, allow_registration=True, rate_limiter=RateLimiter.per_api_md(auth_per_minute=2))
    try:
        statuses = [
            post_json(live, REGISTER, {"username": f"user{i}", "email": f"user{i}@example.com", "password": NEW_PASSWORD}).status
            for i in range(3)
        ]
    finally:
        live.close()
    assert statuses == [201, 201, 429]


# -- profile -----------------------------------------------------------------------------


def test_patch_profile_changes_only_what_is_given_and_merges_preferences(engine, server):
    add_user(engine, "ada", "trader")
    token = access_token(server, "ada")

    first = send_json(server, "PATCH", PROFILE, {
        "full_name": "Ada L", "email": "ada@example.com", "preferences": {"theme": "dark", "chart": {"interval": "1h"}},
    }, token)
    second = send_json(server, "PATCH", PROFILE, {"preferences": {"theme": None, "chart": {"candles": 200}}}, token)

    assert first.status == 200, first.body
    assert first.body["full_name"] == "Ada L" and first.body["email"] == "ada@example.com"
    assert second.status == 200
    assert second.body["full_name"] == "Ada L" and second.body["email"] == "ada@example.com"
    assert second.body["preferences"] == {"chart": {"interval": "1h", "candles": 200}}
    assert server.request("GET", ME, headers=bearer(token)).body == second.body


def test_put_profile_and_patch_users_me_are_the_same_change(engine, server):
    add_user(engine, "ada", "viewer")
    token = access_token(server, "ada")

    by_put = send_json(server, "PUT", PROFILE, {"full_name": "By Put"}, token)
    by_users_me = send_json(server, "PATCH", "/api/v1/users/me", {"full_name": None}, token)

    assert by_put.status == 200 and by_put.body["full_name"] == "By Put"
    assert by_users_me.status == 200 and by_users_me.body["full_name"] is None
    assert server.request("GET", "/api/v1/users/me", headers=bearer(token)).body["full_name"] is None


def test_profile_refusals(engine, server):
    create_user(engine, username="bob", password_hash="x", role="viewer", email="bob@example.com")
    add_user(engine, "ada", "trader")
    token = access_token(server, "ada")

    taken = send_json(server, "PATCH", PROFILE, {"email": "bob@example.com"}, token)
    cleared = send_json(server, "PATCH", PROFILE, {"email": None}, token)
    unknown = send_json(server, "PATCH", PROFILE, {"role": "admin"}, token)
    anonymous = send_json(server, "PATCH", PROFILE, {"full_name": "x"})

    assert taken.status == 409 and taken.body["code"] == "CONFLICT"
    assert cleared.status == 422 and unknown.status == 422
    assert anonymous.status == 401 and anonymous.body["code"] == "MISSING_TOKEN"
    assert get_user_by_username(engine, "ada").role == "trader"


# -- password change ---------------------------------------------------------------------


def test_change_password_needs_the_current_one(engine, server):
    add_user(engine, "ada", "trader")
    token = access_token(server, "ada")

    wrong = send_json(server, "POST", CHANGE, {"current_password": "not it at all", "new_password": NEW_PASSWORD}, token)
    short = send_json(server, "POST", CHANGE, {"current_password": PASSWORD, "new_password": "short"}, token)
    same = send_json(server, "POST", CHANGE, {"current_password": PASSWORD, "new_password": PASSWORD}, token)

    assert wrong.status == 401 and wrong.body["code"] == "INVALID_CREDENTIALS"
    assert short.status == 422 and short.body["details"]["errors"][0]["loc"] == ["body", "new_password"]
    assert same.status == 422
    assert verify_password(PASSWORD, get_user_by_username(engine, "ada").password_hash)


def test_change_password_revokes_every_refresh_token(engine, server):
    add_user(engine, "ada", "trader")
    phone = login(server, "ada").body
    laptop = login(server, "ada").body

    reply = send_json(server, "POST", CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                      laptop["access_token"])

    assert reply.status == 200, reply.body
    assert reply.body["success"] is True and reply.body["revoked_refresh_tokens"] == 2
    for old in (phone, laptop):
        refused = post_json(server, "/api/v1/auth/refresh", {"refresh_token": old["refresh_token"]})
        assert refused.status == 401 and refused.body["code"] == "INVALID_TOKEN"
    assert login(server, "ada").status == 401
    assert login(server, "ada", NEW_PASSWORD).status == 200
