"""Users, logins and a live API over a real database, for the auth and health tests."""

from __future__ import annotations

import functools
import json
from typing import Any

from sqlalchemy import Engine

from api.app import make_app
from api.auth.passwords import hash_password
from api.auth.tokens import TokenIssuer
from api.bridge import ActorGateway
from api.context import ApiContext
from storage.users import create_user
from tests.api.conftest import LiveServer, Response
from trading.clock import SYSTEM_CLOCK, Clock

SECRET = "test-secret-of-at-least-32-bytes-0123456789"
PASSWORD = "correct horse battery"


def add_user(engine: Engine, username: str, role: str, password: str = PASSWORD) -> str:
    return create_user(engine, username=username, password_hash=_hashed(password), role=role)


@functools.lru_cache(maxsize=None)
def _hashed(password: str) -> str:
    """One scrypt hash per password for the whole run (each takes ~50 ms on purpose); a
    hash carries its own salt, so users may share one."""
    return hash_password(password)


def serve(engine: Engine, *, clock: Clock = SYSTEM_CLOCK, actors: ActorGateway | None = None, **context: Any) -> LiveServer:
    """A live API on `engine`; `context` sets more `ApiContext` fields (`allow_registration`,
    `sealer`, `protect`, ...)."""
    api = ApiContext(version="9.9.9", clock=clock, engine=engine, tokens=TokenIssuer(SECRET), actors=actors, **context)
    return LiveServer(make_app(api))


def send_json(server: LiveServer, method: str, path: str, body: Any, token: str | None = None) -> Response:
    """`method path` with a JSON body, as the bearer of `token` if given."""
    headers = {"Content-Type": "application/json", **(bearer(token) if token else {})}
    return server.request(method, path, json.dumps(body).encode(), headers)


def call_as(server: LiveServer, method: str, path: str, token: str, body: Any = None) -> Response:
    """`method path` as the bearer of `token`: a JSON body if given, else an empty one for
    the methods that carry a body."""
    headers = bearer(token)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif method in ("POST", "PUT", "PATCH"):
        data = b""
    return server.request(method, path, data, headers)


def post_json(server: LiveServer, path: str, body: Any, headers: dict[str, str] | None = None) -> Response:
    return server.request(
        "POST", path, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})}
    )


def login(server: LiveServer, username: str, password: str = PASSWORD) -> Response:
    return post_json(server, "/api/v1/auth/login", {"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def access_token(server: LiveServer, username: str) -> str:
    reply = login(server, username)
    assert reply.status == 200, reply.body
    return reply.body["access_token"]
