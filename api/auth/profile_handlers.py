"""`/auth/register`, `/auth/profile` (and `PATCH /users/me`), `/auth/change-password`.

Validation runs on the loop; hashing and the database writes in the executor
(`api.auth.profile`).
"""

from __future__ import annotations

from api.auth import profile
from api.auth.handlers import MeHandler, AuthHandler
from api.auth.passwords import MIN_LENGTH
from api.endpoint import endpoint
from api.errors import ApiError
from api.ratelimit import AUTH
from api.schemas.auth import (
    ChangePasswordOut,
    ChangePasswordRequest,
    ProfilePatch,
    RegisterRequest,
    TokenPair,
    UserOut,
)

TAGS = ("auth",)


class RegisterHandler(AuthHandler):
    """Self-registration, when `[api] allow_registration` is on (it is off by default: the
    first admin comes from `traderd user add`)."""

    rate_limit = AUTH

    @endpoint(
        "Register a user", body=RegisterRequest, response=TokenPair, status=201, tags=TAGS,
        errors=("INSUFFICIENT_PERMISSION", "CONFLICT"),
        description="Makes a `trader` and answers their first token pair. 403 while "
        "`[api] allow_registration` is off (the default); 409 CONFLICT for a taken username "
        f"or email; a password needs at least {MIN_LENGTH} characters (422).",
    )
    async def post(self) -> None:
        assert self.context is not None
        if not self.context.allow_registration:
            raise ApiError(403, "INSUFFICIENT_PERMISSION", "registration is off on this daemon ([api] allow_registration)")
        request = self.parse_body(RegisterRequest)
        engine, tokens = self._parts()
        pair = await self.in_executor(profile.register, engine, tokens, request, self._now())
        self.write_model(TokenPair.model_validate(pair), 201)


class _ProfileMixin(AuthHandler):
    async def _change_profile(self) -> None:
        patch = self.parse_body(ProfilePatch)
        engine, _ = self._parts()
        body = await self.in_executor(profile.change_profile, engine, self.current_user.user_id, patch, self._now())
        self.write_model(UserOut.model_validate(body))


_PROFILE_DESCRIPTION = (
    "Changes the caller's `full_name`, `email` or `preferences` (merged as a JSON merge "
    "patch: a key set to null is removed); fields not given stay. 409 CONFLICT for an email "
    "another user has."
)


class ProfileHandler(_ProfileMixin):
    """`/auth/profile`: PATCH, and PUT with the same meaning (seed [001] uses PUT)."""

    required_role = "viewer"

    @endpoint("Change the caller's profile", body=ProfilePatch, response=UserOut, tags=TAGS,
              errors=("CONFLICT",), description=_PROFILE_DESCRIPTION)
    async def patch(self) -> None:
        await self._change_profile()

    @endpoint("Change the caller's profile (as PATCH)", body=ProfilePatch, response=UserOut, tags=TAGS,
              errors=("CONFLICT",), description=_PROFILE_DESCRIPTION + " The same as PATCH: fields not given stay.")
    async def put(self) -> None:
        await self._change_profile()


class UsersMeHandler(_ProfileMixin, MeHandler):
    """`/users/me`: the caller's user (GET, as `/auth/me`) and their profile (PATCH)."""

    @endpoint("Change the caller's profile", body=ProfilePatch, response=UserOut, tags=("users",),
              errors=("CONFLICT",), description=_PROFILE_DESCRIPTION)
    async def patch(self) -> None:
        await self._change_profile()


class ChangePasswordHandler(AuthHandler):
    """A new password for the caller, who proves the current one."""

    required_role = "viewer"
    rate_limit = AUTH  # a brake on guessing the current password with a stolen token

    @endpoint(
        "Change the caller's password", body=ChangePasswordRequest, response=ChangePasswordOut, tags=TAGS,
        errors=("INVALID_CREDENTIALS",),
        description="Needs the current password (401 INVALID_CREDENTIALS if wrong). Revokes every "
        "refresh token of the user, so all sessions end when their access tokens run out; log in again.",
    )
    async def post(self) -> None:
        request = self.parse_body(ChangePasswordRequest)
        engine, _ = self._parts()
        revoked = await self.in_executor(
            profile.change_password, engine, self.current_user.user_id,
            request.current_password, request.new_password, self._now(),
        )
        self.write_model(ChangePasswordOut(
            success=True, message="password changed; every session was logged out", revoked_refresh_tokens=revoked,
        ))
