"""`/ws` (and `/api/v1/ws`): the WebSocket endpoint of API.md, and `GET /api/v1/ws/stats`.

A client authenticates with `?token=<access token>` or a first `{"type": "auth", "token"}`
within `ws_auth_timeout_s`. Close codes: 4401 bad or missing token (after an `error`
naming MISSING_TOKEN, INVALID_TOKEN or TOKEN_EXPIRED), 4429 too many connections, 1008 a
client flooding far past its message rate, 1013 a client too slow to take its messages,
1001 the daemon is stopping.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Awaitable

import pydantic
import tornado.websocket

from api.base import BaseHandler
from api.context import ApiContext
from api.endpoint import endpoint
from api.errors import ApiError
from api.ws.client import Client
from api.ws.hub import WebSocketHub

logger = logging.getLogger(__name__)

CLOSE_AUTH_FAILED = 4401
CLOSE_AUTH_TIMEOUT = 4408
CLOSE_TOO_MANY = 4429
CLOSE_FLOODING = 1008
MAX_INBOUND_BYTES = 64 * 1024


class WebSocketHandler(tornado.websocket.WebSocketHandler):
    """The WebSocket upgrade: `?token=<access token>` (or an `auth` message first), then
    `subscribe` to channels (README, "WebSocket"). One instance per connection; the hub
    holds what connections share."""

    def initialize(self, context: ApiContext, hub: WebSocketHub) -> None:
        self.context = context
        self.hub = hub
        self.client = Client(self, hub.limits, hub.counters, hub.too_slow, hub.monotonic)
        self._auth_timer: asyncio.TimerHandle | None = None
        self._warned_at: float | None = None  # the last RATE_LIMITED warning, at most one a second

    @property
    def max_message_size(self) -> int:
        return MAX_INBOUND_BYTES

    def check_origin(self, origin: str) -> bool:
        # Auth is a bearer token the page must hold, never a cookie the browser adds by
        # itself, so a foreign page gains nothing from connecting: dashboards on other
        # origins are welcome.
        return True

    def open(self) -> None:
        self.client.opened()
        self.hub.start()
        if not self.hub.admit(self.client):
            self._refuse(CLOSE_TOO_MANY, "TOO_MANY_CONNECTIONS",
                         f"the daemon serves at most {self.hub.limits.max_connections} WebSocket connections")
            return
        token = self.get_query_argument("token", None)
        if token is not None:
            if self._authenticate(token):
                self._welcome()
            return
        self._welcome()
        self._auth_timer = asyncio.get_running_loop().call_later(self.hub.limits.auth_timeout_s, self._auth_timed_out)

    def on_message(self, raw: str | bytes) -> Awaitable[None] | None:
        client = self.client
        if client.closing:
            return None
        if not client.inbound.allow():
            if client.inbound.exhausted:
                self._refuse(CLOSE_FLOODING, "RATE_LIMITED", "too many messages: closing")
            elif self._warned_at is None or self.hub.monotonic() - self._warned_at >= 1.0:
                self._warned_at = self.hub.monotonic()
                self._error("RATE_LIMITED", f"at most {self.hub.limits.max_messages_per_s} messages a second; dropped")
            return None
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            self._error("INVALID_JSON", "a message is a JSON object")
            return None
        if not isinstance(body, dict):
            self._error("INVALID_JSON", "a message is a JSON object")
            return None
        kind = body.get("type")
        if kind == "ping":
            self.hub.reply(client, "pong")
        elif kind == "auth":
            self._on_auth(body)
        elif kind in ("subscribe", "unsubscribe"):
            if client.principal is None:
                self._error("MISSING_TOKEN", "authenticate first: {\"type\": \"auth\", \"token\": ...}")
                return None
            names = _channels_of(body)
            if names is None:
                self._error("VALIDATION_ERROR", f"{kind} takes `channels` (a list of names) or `channel`")
            elif kind == "subscribe":
                return self._subscribe(names)
            else:
                self.hub.reply(client, "unsubscribed", channels=self.hub.unsubscribe(client, names))
        else:
            self._error("INVALID_MESSAGE", f"unknown message type {str(kind)[:40]!r}: auth, subscribe, unsubscribe or ping")
        return None

    def on_close(self) -> None:
        self._cancel_auth_timer()
        self.hub.remove(self.client)

    # -- helpers --------------------------------------------------------------------------

    async def _subscribe(self, names: list[Any]) -> None:
        accepted, errors = await self.hub.subscribe(self.client, names)
        for error in errors:
            self.hub.reply(self.client, "error", channel=error["channel"], code=error["code"], message=error["message"])
        if accepted:
            self.hub.reply(self.client, "subscribed", channels=accepted)
            for latest in self.hub.latest_market_data(accepted):
                self.client.send(latest)

    def _on_auth(self, body: dict[str, Any]) -> None:
        if self.client.principal is not None:
            self._error("INVALID_MESSAGE", "this connection is authenticated already")
            return
        token = body.get("token")
        if not isinstance(token, str) or not token:
            self._refuse(CLOSE_AUTH_FAILED, "MISSING_TOKEN", "auth takes a `token`: an access token")
            return
        if self._authenticate(token):
            principal = self.client.principal
            assert principal is not None
            self.hub.reply(self.client, "authenticated", user_id=principal.user_id, role=principal.role)

    def _authenticate(self, token: str) -> bool:
        self._cancel_auth_timer()
        tokens = self.context.tokens
        if tokens is None:
            self._refuse(CLOSE_AUTH_FAILED, "INVALID_TOKEN", "this server checks no tokens")
            return False
        try:
            principal = tokens.principal(token)
        except ApiError as error:
            self._refuse(CLOSE_AUTH_FAILED, error.code, error.message)
            return False
        if not self.hub.authenticate(self.client, principal):
            self._refuse(CLOSE_TOO_MANY, "TOO_MANY_CONNECTIONS",
                         f"at most {self.hub.limits.max_connections_per_user} WebSocket connections per user")
            return False
        return True

    def _welcome(self) -> None:
        principal = self.client.principal
        fields: dict[str, Any] = {"version": self.context.version, "authenticated": principal is not None}
        if principal is not None:
            fields.update(user_id=principal.user_id, role=principal.role)
        self.hub.reply(self.client, "welcome", **fields)

    def _auth_timed_out(self) -> None:
        self._auth_timer = None
        if self.client.principal is None and not self.client.closing:
            self._refuse(CLOSE_AUTH_TIMEOUT, "MISSING_TOKEN",
                         f"no auth message within {self.hub.limits.auth_timeout_s:g} s")

    def _cancel_auth_timer(self) -> None:
        if self._auth_timer is not None:
            self._auth_timer.cancel()
            self._auth_timer = None

    def _error(self, code: str, text: str) -> None:
        self.hub.reply(self.client, "error", code=code, message=text)

    def _refuse(self, close_code: int, code: str, text: str) -> None:
        """Say why in an `error`, then close with `close_code` (the reason repeats the code)."""
        self._error(code, text)
        self.hub.remove(self.client)
        self.close(close_code, code)


def _channels_of(body: dict[str, Any]) -> list[Any] | None:
    if "channels" in body:
        names = body["channels"]
        return names if isinstance(names, list) and len(names) <= 1000 else None
    if "channel" in body:
        return [body["channel"]]
    return None


class WsStats(pydantic.BaseModel):
    total_connections: int
    channels: dict[str, int]


class WsStatsHandler(BaseHandler):
    """Who is connected; names other users' bots and accounts, so admins only."""

    required_role = "admin"

    def initialize(self, context: ApiContext, hub: WebSocketHub) -> None:  # type: ignore[override]
        self.context = context
        self.hub = hub

    @endpoint("WebSocket connections and subscribers per channel", response=WsStats, tags=("system",))
    def get(self) -> None:
        self.write_model(WsStats.model_validate(self.hub.stats()))
