"""`/api/v1/auth/*`: login, refresh, logout, me. Each handler parses and validates on the
loop, then does its database and password work in the executor (`api.auth.sessions`).
Registration and the profile are in `profile_handlers`, two-factor login in `totp_handlers`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.auth import sessions
from api.auth.tokens import TokenIssuer
from api.base import BaseHandler, validated
from api.endpoint import endpoint
from api.errors import ApiError
from api.ratelimit import AUTH
from api.schemas.auth import LoginRequest, LogoutOut, LogoutRequest, RefreshRequest, TokenPair, UserOut
from storage.users import get_user
from trading.clock import ns_to_datetime


class AuthHandler(BaseHandler):
    """Base of the auth and profile handlers: the clock as a datetime, the database and
    the token issuer."""

    def _now(self) -> datetime:
        assert self.context is not None
        return ns_to_datetime(self.context.clock.now_ns())

    def _parts(self) -> tuple[Any, TokenIssuer]:
        assert self.context is not None
        if self.context.engine is None or self.context.tokens is None:
            raise RuntimeError("the auth routes need the database and a token issuer")
        return self.context.engine, self.context.tokens

    def _required_strings(self, body: dict[str, Any], *names: str) -> list[str]:
        """The named fields, each a non-empty string, or 422 naming every one that is not."""
        errors = [
            {"loc": ["body", name], "msg": "field required" if name not in body else "must be a non-empty string"}
            for name in names
            if not isinstance(body.get(name), str) or not body[name]
        ]
        if errors:
            raise ApiError(422, "VALIDATION_ERROR", "the request body does not fit", {"errors": errors})
        return [body[name] for name in names]


class LoginHandler(AuthHandler):
    """JSON `{username or email, password}` or OAuth2's form `username=&password=`."""

    rate_limit = AUTH

    @endpoint(
        "Log in", body=LoginRequest, form=True, response=TokenPair, tags=("auth",),
        errors=("INVALID_CREDENTIALS", "ACCOUNT_LOCKED", "ENCRYPTION_KEY_MISSING"),
        description="A token pair for a username (or email) and password; also OAuth2's "
        "password flow as a form. A user with two-factor login on also gives `totp_code` "
        "(a missing or wrong one is 401 with `details.totp_required`). Five failures in a "
        "row lock the user for 15 minutes.",
    )
    async def post(self) -> None:
        body = self.body_fields()
        if "username" not in body and "email" in body:
            body["username"] = body["email"]
        self._required_strings(body, "username", "password")
        request = validated(LoginRequest, body, "body")
        assert request.username is not None
        engine, tokens = self._parts()
        assert self.context is not None
        pair = await self.in_executor(
            sessions.login, engine, tokens, request.username, request.password, self._now(),
            request.totp_code, self.context.sealer,
        )
        self.write_model(TokenPair.model_validate(pair))


class RefreshHandler(AuthHandler):
    """`{refresh_token}` -> a new pair; the old refresh token is spent."""

    rate_limit = AUTH

    @endpoint(
        "Renew the token pair", body=RefreshRequest, response=TokenPair, tags=("auth",),
        errors=("INVALID_TOKEN", "TOKEN_EXPIRED"),
        description="A new pair for a refresh token, which this use spends (rotation); "
        "reusing a spent one revokes its successor too.",
    )
    async def post(self) -> None:
        body = self.body_fields()
        self._required_strings(body, "refresh_token")
        token = validated(RefreshRequest, body, "body").refresh_token
        engine, tokens = self._parts()
        self.write_model(TokenPair.model_validate(await self.in_executor(sessions.refresh, engine, tokens, token, self._now())))


class LogoutHandler(AuthHandler):
    """`{refresh_token}` -> 200; that refresh token is revoked. Access tokens run out
    on their own within 30 minutes."""

    @endpoint(
        "Log out", body=LogoutRequest, response=LogoutOut, tags=("auth",), errors=("INVALID_TOKEN",),
        description="Revokes the refresh token; access tokens run out on their own.",
    )
    async def post(self) -> None:
        body = self.body_fields()
        self._required_strings(body, "refresh_token")
        token = validated(LogoutRequest, body, "body").refresh_token
        engine, tokens = self._parts()
        await self.in_executor(sessions.logout, engine, tokens, token, self._now())
        self.write_model(LogoutOut(success=True, message="logged out"))


class MeHandler(AuthHandler):
    """The caller's own user record (also at `/users/me`)."""

    required_role = "viewer"

    @endpoint("The caller's own user", response=UserOut, tags=("auth",), errors=("INVALID_TOKEN",))
    async def get(self) -> None:
        engine, _ = self._parts()
        user = await self.in_executor(get_user, engine, self.current_user.user_id)
        if user is None or not user.is_active:
            raise ApiError(401, "INVALID_TOKEN", "the token's user is gone or disabled")
        self.write_model(UserOut.model_validate(sessions.user_body(user)))
