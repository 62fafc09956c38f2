"""Requests and answers of `/api/v1/auth/*` and `/users/me`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import UtcTimestamp

Role = Literal["admin", "trader", "viewer"]
NonEmpty = Field(min_length=1)


class LoginRequest(BaseModel):
    """JSON `{username or email, password, totp_code?}`, or OAuth2's password form, whose
    `grant_type`, `scope` and `client_id` are accepted and ignored."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"anyOf": [{"required": ["username"]}, {"required": ["email"]}]},
    )

    username: str | None = Field(None, min_length=1, description="the username, or an email address")
    email: str | None = Field(None, min_length=1, description="instead of `username`")
    password: str = NonEmpty
    totp_code: str | None = Field(None, description="the TOTP code, for a user with two-factor login")


class RefreshRequest(BaseModel):
    refresh_token: str = NonEmpty


class LogoutRequest(BaseModel):
    refresh_token: str = NonEmpty


class UserOut(BaseModel):
    """A user as the API shows them: never the password hash or the TOTP secret."""

    id: str
    username: str
    email: str | None
    full_name: str | None
    role: Role
    is_active: bool
    totp_enabled: bool
    preferences: dict[str, Any]
    created_at: UtcTimestamp
    updated_at: UtcTimestamp


class TokenPair(BaseModel):
    """What login and refresh answer: a 30-minute access token and a single-use refresh
    token (7 days)."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"]
    expires_in: int = Field(description="seconds until the access token expires")
    user: UserOut


class LogoutOut(BaseModel):
    success: bool
    message: str
