"""Login, tokens and the bearer check, over real HTTP against a real database."""

from __future__ import annotations

import base64
import json
import time
import urllib.parse

import pytest
from sqlalchemy import Engine

from api.auth.passwords import hash_password
from api.auth.tokens import TokenIssuer
from storage.users import create_user, get_user_by_username
from tests.api.auth_helpers import (
    PASSWORD,
    SECRET,
    access_token,
    add_user,
    bearer,
    login,
    post_json,
    serve,
)
from trading.clock import ManualClock

ME = "/api/v1/auth/me"


@pytest.fixture
def server(engine: Engine):
    live = serve(engine)
    yield live
    live.close()


def test_json_login_answers_the_token_pair_and_me_answers_the_user(engine, server):
    user_id = add_user(engine, "ada", "trader")

    reply = login(server, "ada")

    assert reply.status == 200, reply.body
    assert reply.body["token_type"] == "bearer"
    assert reply.body["expires_in"] == 1800
    assert reply.body["user"]["id"] == user_id and reply.body["user"]["role"] == "trader"
    assert "password_hash" not in reply.body["user"]
    claims = TokenIssuer(SECRET).decode(reply.body["access_token"], "access")
    assert (claims["sub"], claims["role"], claims["type"]) == (user_id, "trader", "access")
    assert claims["exp"] - claims["iat"] == 1800 and claims["jti"]
    me = server.request("GET", ME, headers=bearer(reply.body["access_token"]))
    assert me.status == 200 and me.body["username"] == "ada"
    assert server.request("GET", "/api/v1/users/me", headers=bearer(reply.body["access_token"])).body == me.body


def test_oauth2_form_login_and_login_by_email(engine, server):
    create_user(engine, username="bob", password_hash=hash_password(PASSWORD), role="viewer", email="bob@example.com")
    form = urllib.parse.urlencode({"username": "bob", "password": PASSWORD, "grant_type": "password"}).encode()

    by_form = server.request("POST", "/api/v1/auth/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
    by_email = post_json(server, "/api/v1/auth/login", {"email": "bob@example.com", "password": PASSWORD})

    assert by_form.status == 200 and by_form.body["user"]["username"] == "bob"
    assert by_email.status == 200 and by_email.body["user"]["username"] == "bob"


def test_a_wrong_password_and_an_unknown_user_get_the_same_401(engine, server):
    add_user(engine, "ada", "trader")

    wrong = login(server, "ada", "not the password")
    unknown = login(server, "nobody", PASSWORD)

    assert wrong.status == unknown.status == 401
    assert wrong.body == unknown.body == {"code": "INVALID_CREDENTIALS", "message": "wrong username or password", "details": {}}


def test_a_body_without_credentials_is_422_and_bad_json_400(server):
    missing = post_json(server, "/api/v1/auth/login", {"username": "ada"})
    assert missing.status == 422 and missing.body["code"] == "VALIDATION_ERROR"
    assert missing.body["details"]["errors"] == [{"loc": ["body", "password"], "msg": "field required"}]
    bad = server.request("POST", "/api/v1/auth/login", b"{nope", {"Content-Type": "application/json"})
    assert bad.status == 400 and bad.body["code"] == "INVALID_JSON"


def test_five_failures_in_a_row_lock_the_user_for_15_minutes_across_a_restart(engine):
    clock = ManualClock(time.time_ns())
    add_user(engine, "ada", "trader")
    first = serve(engine, clock=clock)
    try:
        statuses = [login(first, "ada", f"wrong {i}").status for i in range(5)]
        assert statuses == [401, 401, 401, 401, 423]
    finally:
        first.close()

    # A new process on the same database: the lock is in the users table.
    second = serve(engine, clock=clock)
    try:
        locked = login(second, "ada")  # even the right password
        assert locked.status == 423 and locked.body["code"] == "ACCOUNT_LOCKED"
        assert 0 < locked.body["details"]["retry_after_s"] <= 900
        clock.advance(14 * 60)
        assert login(second, "ada").status == 423
        clock.advance(61)
        assert login(second, "ada").status == 200
    finally:
        second.close()


def test_a_successful_login_resets_the_count(engine, server):
    add_user(engine, "ada", "trader")
    for _ in range(4):
        assert login(server, "ada", "wrong").status == 401
    assert login(server, "ada").status == 200
    assert get_user_by_username(engine, "ada").failed_logins == 0
    for _ in range(4):
        assert login(server, "ada", "wrong").status == 401
    assert login(server, "ada").status == 200


# -- the bearer check on protected routes ------------------------------------------------


def _header(reply, name: str) -> str | None:
    return {key.lower(): value for key, value in reply.headers.items()}.get(name.lower())


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _tampered_payload(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return ".".join((header, _b64({**claims, "role": "admin"}), signature))


def _tampered_signature(token: str) -> str:
    header, payload, signature = token.split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    return ".".join((header, payload, signature[:middle] + flipped + signature[middle + 1:]))


def _alg_none(token: str) -> str:
    payload = token.split(".")[1]
    return ".".join((_b64({"alg": "none", "typ": "JWT"}), payload, ""))


def _expired(token: str) -> str:
    claims = TokenIssuer(SECRET).decode(token, "access")
    return TokenIssuer(SECRET, now=lambda: time.time() - 3600).access_token(claims["sub"], claims["role"]).token


def _other_secret(token: str) -> str:
    claims = TokenIssuer(SECRET).decode(token, "access")
    return TokenIssuer("another-secret-also-at-least-32-bytes!!").access_token(claims["sub"], claims["role"]).token


@pytest.mark.parametrize("forge,code", [
    (_tampered_payload, "INVALID_TOKEN"),
    (_tampered_signature, "INVALID_TOKEN"),
    (_alg_none, "INVALID_TOKEN"),
    (_other_secret, "INVALID_TOKEN"),
    (_expired, "TOKEN_EXPIRED"),
    (lambda token: "not.a.jwt", "INVALID_TOKEN"),
], ids=["tampered-payload", "tampered-signature", "alg-none", "other-secret", "expired", "garbage"])
def test_protected_routes_refuse_bad_tokens(engine, server, forge, code):
    add_user(engine, "ada", "viewer")
    good = access_token(server, "ada")
    assert server.request("GET", ME, headers=bearer(good)).status == 200  # the control

    reply = server.request("GET", ME, headers=bearer(forge(good)))

    assert reply.status == 401
    assert reply.body["code"] == code
    assert _header(reply, "WWW-Authenticate") == 'Bearer error="invalid_token"'


def test_a_refresh_token_is_no_access_token(engine, server):
    add_user(engine, "ada", "admin")
    refresh_token = login(server, "ada").body["refresh_token"]

    reply = server.request("GET", ME, headers=bearer(refresh_token))

    assert reply.status == 401 and reply.body["code"] == "INVALID_TOKEN"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic YWRhOnB3"}, {"Authorization": "Bearer "}],
                         ids=["none", "basic", "empty"])
def test_no_bearer_token_is_missing_token(server, headers):
    reply = server.request("GET", ME, headers=headers)
    assert reply.status == 401
    assert reply.body["code"] == "MISSING_TOKEN"
    assert _header(reply, "WWW-Authenticate") == "Bearer"


# -- refresh and logout ------------------------------------------------------------------


def test_refresh_rotates_and_a_spent_token_is_refused(engine, server):
    add_user(engine, "ada", "trader")
    first = login(server, "ada").body

    second = post_json(server, "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})

    assert second.status == 200, second.body
    assert second.body["refresh_token"] != first["refresh_token"]
    assert server.request("GET", ME, headers=bearer(second.body["access_token"])).status == 200
    again = post_json(server, "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert again.status == 401 and again.body["code"] == "INVALID_TOKEN"
    # Reuse of a spent token smells of theft: the successor is revoked too.
    successor = post_json(server, "/api/v1/auth/refresh", {"refresh_token": second.body["refresh_token"]})
    assert successor.status == 401


def test_an_access_token_cannot_refresh(engine, server):
    add_user(engine, "ada", "trader")
    pair = login(server, "ada").body

    reply = post_json(server, "/api/v1/auth/refresh", {"refresh_token": pair["access_token"]})

    assert reply.status == 401 and reply.body["code"] == "INVALID_TOKEN"


def test_refresh_takes_the_current_role(engine, server):
    add_user(engine, "ada", "trader")
    pair = login(server, "ada").body
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE users SET role = 'viewer' WHERE username = 'ada'")

    renewed = post_json(server, "/api/v1/auth/refresh", {"refresh_token": pair["refresh_token"]}).body

    assert TokenIssuer(SECRET).principal(renewed["access_token"]).role == "viewer"


def test_logout_revokes_the_refresh_token(engine, server):
    add_user(engine, "ada", "trader")
    pair = login(server, "ada").body

    out = post_json(server, "/api/v1/auth/logout", {"refresh_token": pair["refresh_token"]})

    assert out.status == 200 and out.body["success"] is True
    refused = post_json(server, "/api/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert refused.status == 401
