"""Requests and answers of `/api/v1/auth/*` and `/users/me`."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.auth.passwords import MAX_LENGTH, MIN_LENGTH
from api.schemas.common import Model, UtcTimestamp

Role = Literal["admin", "trader", "viewer"]
NonEmpty = Field(min_length=1)
MAX_PREFERENCES_BYTES = 16 * 1024

Username = Annotated[str, Field(
    min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
    description="3 to 64 letters, digits, `_`, `.` or `-` (no `@`: login tells names from emails by it)",
)]
Email = Annotated[str, Field(max_length=255, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", examples=["ada@example.com"])]
NewPassword = Annotated[str, Field(
    min_length=MIN_LENGTH, max_length=MAX_LENGTH,
    description=f"at least {MIN_LENGTH} characters; a passphrase of a few words is best",
)]
FullName = Annotated[str, Field(max_length=255)]
TotpCode = Annotated[str, Field(pattern=r"^[0-9]{6}$", description="the 6-digit code the authenticator app shows")]


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


class RegisterRequest(Model):
    """`{username, email, password, full_name?}`; the new user gets the `trader` role."""

    username: Username
    email: Email
    password: NewPassword
    full_name: FullName | None = None


class ProfilePatch(Model):
    """Only the fields given change; `full_name: null` clears it. `preferences` is merged
    into the stored object as a JSON merge patch (RFC 7396: a key set to null is removed)."""

    full_name: FullName | None = None
    email: Email = Field(None, json_schema_extra=lambda schema: schema.pop("default"))  # type: ignore[assignment]
    """Optional but never null: an email is changed, not cleared."""
    preferences: dict[str, Any] | None = None

    @field_validator("preferences")
    @classmethod
    def _small(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(json.dumps(value, separators=(",", ":"))) > MAX_PREFERENCES_BYTES:
            raise ValueError(f"preferences take at most {MAX_PREFERENCES_BYTES} bytes of JSON")
        return value


class ChangePasswordRequest(Model):
    current_password: str = NonEmpty
    new_password: NewPassword

    @model_validator(mode="after")
    def _new(self) -> ChangePasswordRequest:
        if self.new_password == self.current_password:
            raise ValueError("the new password must differ from the current one")
        return self


class ChangePasswordOut(BaseModel):
    success: bool
    message: str
    revoked_refresh_tokens: int = Field(description="sessions ended: every refresh token of the user is revoked")


class TotpSetupOut(BaseModel):
    """The new secret, shown this once; two-factor login is on only after `/2fa/enable`."""

    secret: str = Field(description="base32, for typing into an authenticator app")
    otpauth_uri: str = Field(description="the same as an `otpauth://totp/...` URI, for a QR code")
    issuer: str
    algorithm: Literal["SHA1"]
    digits: int
    period: int = Field(description="seconds per code")


class TotpEnableRequest(Model):
    code: TotpCode


class TotpDisableRequest(Model):
    """A current code, or the password (for a lost authenticator)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"anyOf": [{"required": ["code"]}, {"required": ["password"]}]},
    )

    code: TotpCode | None = None
    password: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _one_proof(self) -> TotpDisableRequest:
        if self.code is None and self.password is None:
            raise ValueError("give the current `code` or the `password`")
        return self


class TotpStatusOut(BaseModel):
    success: bool
    totp_enabled: bool
    message: str
