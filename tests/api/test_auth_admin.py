"""The admin's `/users` routes over real HTTP against a real database (SQLite, and
PostgreSQL when configured): listing, role and active changes (which revoke sessions),
and deletion with its refusals."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import Engine, insert

from api.auth.tokens import TokenIssuer
from storage.models import AccountRow
from storage.users import get_user
from tests.api.auth_helpers import SECRET, access_token, add_user, bearer, login, post_json, send_json, serve

USERS = "/api/v1/users"
ME = "/api/v1/auth/me"


@pytest.fixture
def server(engine: Engine):
    live = serve(engine)
    yield live
    live.close()


@pytest.fixture
def admin(engine, server) -> tuple[str, str]:
    """The admin's id and access token."""
    user_id = add_user(engine, "root", "admin")
    return user_id, access_token(server, "root")


def _refresh(server, token: str):
    return post_json(server, "/api/v1/auth/refresh", {"refresh_token": token})


@pytest.mark.parametrize("role", ["viewer", "trader"])
def test_only_an_admin_reaches_users(engine, server, role):
    user_id = add_user(engine, "ada", role)
    token = access_token(server, "ada")

    for method, path in [("GET", USERS), ("GET", f"{USERS}/{user_id}"), ("DELETE", f"{USERS}/{user_id}")]:
        reply = server.request(method, path, headers=bearer(token))
        assert reply.status == 403 and reply.body["code"] == "INSUFFICIENT_PERMISSION", (method, path)
    patched = send_json(server, "PATCH", f"{USERS}/{user_id}", {"role": "admin"}, token)
    assert patched.status == 403
    assert get_user(engine, user_id).role == role
    assert server.request("GET", USERS).body["code"] == "MISSING_TOKEN"


def test_list_users_pages_and_filters(engine, server, admin):
    for name, role in [("ada", "trader"), ("bob", "viewer"), ("cy", "trader")]:
        add_user(engine, name, role)
    _, token = admin

    everyone = server.request("GET", USERS, headers=bearer(token)).body
    page = server.request("GET", f"{USERS}?limit=2&offset=1", headers=bearer(token)).body
    traders = server.request("GET", f"{USERS}?role=trader", headers=bearer(token)).body
    bad = server.request("GET", f"{USERS}?limit=0", headers=bearer(token))

    assert everyone["total"] == 4 and (everyone["limit"], everyone["offset"]) == (50, 0)
    assert sorted(user["username"] for user in everyone["items"]) == ["ada", "bob", "cy", "root"]
    assert all("password_hash" not in user and "totp_secret" not in user for user in everyone["items"])
    assert page["total"] == 4 and len(page["items"]) == 2 and page["items"] == everyone["items"][1:3]
    assert {user["username"] for user in traders["items"]} == {"ada", "cy"} and traders["total"] == 2
    assert bad.status == 422


def test_get_one_user_and_404(engine, server, admin):
    user_id = add_user(engine, "ada", "trader")
    _, token = admin

    assert server.request("GET", f"{USERS}/{user_id}", headers=bearer(token)).body["username"] == "ada"
    missing = server.request("GET", f"{USERS}/no-such-user", headers=bearer(token))
    assert missing.status == 404 and missing.body["code"] == "USER_NOT_FOUND"


def test_a_role_change_revokes_the_users_refresh_tokens(engine, server, admin):
    user_id = add_user(engine, "ada", "trader")
    before = login(server, "ada").body
    _, token = admin

    reply = send_json(server, "PATCH", f"{USERS}/{user_id}", {"role": "viewer"}, token)

    assert reply.status == 200 and reply.body["role"] == "viewer"
    refused = _refresh(server, before["refresh_token"])
    assert refused.status == 401 and refused.body["code"] == "INVALID_TOKEN"
    again = login(server, "ada").body
    assert TokenIssuer(SECRET).principal(again["access_token"]).role == "viewer"
    # Setting the role it has already changes nothing and revokes nothing.
    assert send_json(server, "PATCH", f"{USERS}/{user_id}", {"role": "viewer"}, token).status == 200
    assert _refresh(server, again["refresh_token"]).status == 200


def test_a_deactivated_user_is_shut_out(engine, server, admin):
    user_id = add_user(engine, "ada", "trader")
    pair = login(server, "ada").body
    _, token = admin

    reply = send_json(server, "PATCH", f"{USERS}/{user_id}", {"is_active": False}, token)

    assert reply.status == 200 and reply.body["is_active"] is False
    me = server.request("GET", ME, headers=bearer(pair["access_token"]))
    assert me.status == 401 and me.body["code"] == "INVALID_TOKEN"
    assert _refresh(server, pair["refresh_token"]).status == 401
    assert login(server, "ada").status == 401
    inactive = server.request("GET", f"{USERS}?is_active=false", headers=bearer(token)).body
    assert [user["username"] for user in inactive["items"]] == ["ada"]

    assert send_json(server, "PATCH", f"{USERS}/{user_id}", {"is_active": True}, token).body["is_active"] is True
    assert login(server, "ada").status == 200


def test_patch_refusals(engine, server, admin):
    admin_id, token = admin
    user_id = add_user(engine, "ada", "trader")

    demote_self = send_json(server, "PATCH", f"{USERS}/{admin_id}", {"role": "trader"}, token)
    deactivate_self = send_json(server, "PATCH", f"{USERS}/{admin_id}", {"is_active": False}, token)
    missing = send_json(server, "PATCH", f"{USERS}/no-such-user", {"role": "viewer"}, token)
    empty = send_json(server, "PATCH", f"{USERS}/{user_id}", {}, token)
    unknown_role = send_json(server, "PATCH", f"{USERS}/{user_id}", {"role": "root"}, token)
    other_field = send_json(server, "PATCH", f"{USERS}/{user_id}", {"password_hash": "x"}, token)

    assert demote_self.status == deactivate_self.status == 409 and demote_self.body["details"] == {"reason": "self"}
    assert missing.status == 404 and missing.body["code"] == "USER_NOT_FOUND"
    assert empty.status == unknown_role.status == other_field.status == 422
    assert get_user(engine, admin_id).role == "admin" and get_user(engine, admin_id).is_active


def test_delete_a_user(engine, server, admin):
    user_id = add_user(engine, "ada", "trader")
    pair = login(server, "ada").body
    _, token = admin

    reply = server.request("DELETE", f"{USERS}/{user_id}", headers=bearer(token))

    assert reply.status == 204 and reply.body is None
    assert get_user(engine, user_id) is None
    assert server.request("GET", f"{USERS}/{user_id}", headers=bearer(token)).status == 404
    assert server.request("DELETE", f"{USERS}/{user_id}", headers=bearer(token)).status == 404
    assert _refresh(server, pair["refresh_token"]).status == 401
    assert server.request("GET", ME, headers=bearer(pair["access_token"])).status == 401


def test_delete_refuses_yourself_and_an_owner_of_accounts(engine, server, admin):
    admin_id, token = admin
    owner_id = add_user(engine, "ada", "trader")
    now = datetime.now(timezone.utc)
    with engine.begin() as connection:
        connection.execute(insert(AccountRow.__table__), {
            "id": "acct-1", "owner_id": owner_id, "name": "paper", "exchange": "paper", "source": "api",
            "is_testnet": False, "created_at": now, "updated_at": now,
        })

    self_delete = server.request("DELETE", f"{USERS}/{admin_id}", headers=bearer(token))
    owner = server.request("DELETE", f"{USERS}/{owner_id}", headers=bearer(token))

    assert self_delete.status == 409 and self_delete.body["details"] == {"reason": "self"}
    assert owner.status == 409 and owner.body["code"] == "CONFLICT"
    assert owner.body["details"] == {"reason": "owner", "bots": 0, "accounts": 1}
    assert "deactivate" in owner.body["message"]
    assert get_user(engine, owner_id) is not None and get_user(engine, admin_id) is not None
