"""JWTs (HS256): short-lived access tokens and single-use refresh tokens.

Decoding pins the algorithm list to HS256, so `alg: none` and algorithm-swap tokens are
refused by the library before any claim is looked at; every claim below is required.
An access token is never accepted where a refresh token is expected, nor the reverse.

Access tokens cannot be revoked (they run out), so `principal` remembers the ones it has
verified, by their exact text, until they expire: a client's every request after its
first costs a dict lookup, not an HMAC and a JSON parse (about 25 us).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import jwt

from api.auth.roles import ROLE_LEVELS
from api.errors import ApiError

ALGORITHM = "HS256"
ACCESS_TTL_S = 30 * 60
REFRESH_TTL_S = 7 * 24 * 3600
MIN_SECRET_BYTES = 32
_REQUIRED_CLAIMS = ["sub", "type", "jti", "iat", "exp"]
MAX_VERIFIED = 4096
"""Verified access tokens remembered at most; past it the memory starts over."""


@dataclass(frozen=True)
class Principal:
    """Who a valid access token speaks for."""

    user_id: str
    role: str
    jti: str


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: datetime


class TokenIssuer:
    """Signs and checks the API's tokens with one secret."""

    def __init__(
        self,
        secret: bytes | str,
        *,
        access_ttl_s: int = ACCESS_TTL_S,
        refresh_ttl_s: int = REFRESH_TTL_S,
        now: Callable[[], float] = time.time,
    ) -> None:
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        if len(key) < MIN_SECRET_BYTES:
            raise ValueError(f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes")
        self._key = key
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s
        self._now = now
        self._verified: dict[str, tuple[Principal, float]] = {}  # token -> (principal, exp)

    def __repr__(self) -> str:
        return f"TokenIssuer({ALGORITHM}, access {self.access_ttl_s} s, refresh {self.refresh_ttl_s} s)"

    def access_token(self, user_id: str, role: str) -> IssuedToken:
        return self._issue({"sub": user_id, "role": role, "type": "access"}, self.access_ttl_s)

    def refresh_token(self, user_id: str) -> IssuedToken:
        return self._issue({"sub": user_id, "type": "refresh"}, self.refresh_ttl_s)

    def principal(self, token: str) -> Principal:
        """The caller behind an access token; ApiError 401 for anything else."""
        known = self._verified.get(token)
        if known is not None:
            if time.time() < known[1]:  # PyJWT's test: expired once exp <= now
                return known[0]
            del self._verified[token]  # and decode says TOKEN_EXPIRED
        claims = self.decode(token, "access")
        role = claims.get("role")
        if role not in ROLE_LEVELS:
            raise ApiError(401, "INVALID_TOKEN", "the token names no known role")
        principal = Principal(user_id=claims["sub"], role=role, jti=claims["jti"])
        if len(self._verified) >= MAX_VERIFIED:
            self._verified.clear()
        self._verified[token] = (principal, float(claims["exp"]))
        return principal

    def decode(self, token: str, expected_type: str, *, verify_exp: bool = True) -> dict[str, Any]:
        """The claims of a token this issuer signed, of `expected_type`; ApiError 401
        (TOKEN_EXPIRED, or INVALID_TOKEN for a bad signature, algorithm or type) if not."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                options={"require": _REQUIRED_CLAIMS, "verify_exp": verify_exp},
            )
        except jwt.ExpiredSignatureError:
            raise ApiError(401, "TOKEN_EXPIRED", f"the {expected_type} token has expired") from None
        except jwt.InvalidTokenError:
            raise ApiError(401, "INVALID_TOKEN", f"the {expected_type} token is not valid") from None
        if claims.get("type") != expected_type:
            raise ApiError(401, "INVALID_TOKEN", f"expected a token of type {expected_type!r}")
        return claims

    def _issue(self, claims: dict[str, Any], ttl_s: int) -> IssuedToken:
        issued_at = int(self._now())
        jti = str(uuid.uuid4())
        payload = {**claims, "jti": jti, "iat": issued_at, "exp": issued_at + ttl_s}
        token = jwt.encode(payload, self._key, algorithm=ALGORITHM)
        return IssuedToken(token, jti, datetime.fromtimestamp(issued_at + ttl_s, timezone.utc))
