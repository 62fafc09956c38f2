"""`/auth/2fa/setup`, `/enable`, `/disable`: two-factor login with TOTP (RFC 6238).

The work (sealing, the code check, the writes) runs in the executor (`api.auth.two_factor`).
"""

from __future__ import annotations

from api.auth import two_factor
from api.auth.handlers import AuthHandler
from api.endpoint import endpoint
from api.ratelimit import AUTH
from api.schemas.auth import TotpDisableRequest, TotpEnableRequest, TotpSetupOut, TotpStatusOut

TAGS = ("auth",)


class TotpSetupHandler(AuthHandler):
    """A new secret, pending until `/2fa/enable` confirms a code of it."""

    required_role = "viewer"

    @endpoint(
        "Set up two-factor login", response=TotpSetupOut, tags=TAGS,
        errors=("CONFLICT", "ENCRYPTION_KEY_MISSING"),
        description="Answers a new TOTP secret (base32) and its `otpauth://` URI, shown this once. "
        "Nothing changes at login until `/auth/2fa/enable`; a second setup replaces a pending secret. "
        "409 CONFLICT while two-factor login is on.",
    )
    async def post(self) -> None:
        assert self.context is not None
        engine, _ = self._parts()
        body = await self.in_executor(two_factor.setup, engine, self.current_user.user_id, self.context.sealer, self._now())
        if self.context.protect is not None:
            self.context.protect([body["secret"]])  # masked in the logs from now on
        self.write_model(TotpSetupOut.model_validate(body))


class TotpEnableHandler(AuthHandler):
    """Turn two-factor login on, with a code of the pending secret."""

    required_role = "viewer"
    rate_limit = AUTH  # a brake on guessing codes

    @endpoint(
        "Turn two-factor login on", body=TotpEnableRequest, response=TotpStatusOut, tags=TAGS,
        errors=("INVALID_CREDENTIALS", "CONFLICT", "ENCRYPTION_KEY_MISSING"),
        description="Needs a current code of the secret from `/auth/2fa/setup` (one 30 s step of "
        "clock drift either way is accepted). From then on login needs `totp_code`.",
    )
    async def post(self) -> None:
        assert self.context is not None
        request = self.parse_body(TotpEnableRequest)
        engine, _ = self._parts()
        await self.in_executor(
            two_factor.enable, engine, self.current_user.user_id, request.code, self.context.sealer, self._now()
        )
        self.write_model(TotpStatusOut(success=True, totp_enabled=True, message="two-factor login is on"))


class TotpDisableHandler(AuthHandler):
    """Turn two-factor login off, with a current code or the password."""

    required_role = "viewer"
    rate_limit = AUTH

    @endpoint(
        "Turn two-factor login off", body=TotpDisableRequest, response=TotpStatusOut, tags=TAGS,
        errors=("INVALID_CREDENTIALS", "CONFLICT", "ENCRYPTION_KEY_MISSING"),
        description="Needs a current, unused code, or the password (for a lost authenticator). "
        "Forgets the secret; 409 CONFLICT when two-factor login is off.",
    )
    async def post(self) -> None:
        assert self.context is not None
        request = self.parse_body(TotpDisableRequest)
        engine, _ = self._parts()
        await self.in_executor(
            two_factor.disable, engine, self.current_user.user_id, request.code, request.password,
            self.context.sealer, self._now(),
        )
        self.write_model(TotpStatusOut(success=True, totp_enabled=False, message="two-factor login is off"))
