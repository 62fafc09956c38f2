"""TOTP (RFC 6238 over RFC 4226's HOTP): 30 s steps, 6 digits, HMAC-SHA1, the settings
every authenticator app uses by default.

A dozen lines of the standard library rather than a dependency: the login check also
needs to know *which* step a code matched (to refuse it the second time), which
`pyotp.TOTP.verify` does not tell. The RFC's own test vectors check it
(`tests/api/test_totp.py`).
"""

from __future__ import annotations

import base64
import hmac
import secrets
import struct
import urllib.parse

STEP_S = 30
DIGITS = 6
DRIFT_STEPS = 1
"""Codes of one step before and after the current one are accepted too (clock drift)."""
SECRET_BYTES = 20  # 160 bits, RFC 4226's recommendation and what SHA1's block suits
ISSUER = "traderd"


def new_secret() -> str:
    """A fresh secret in base32 without padding (32 characters), as apps take it."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def hotp(key: bytes, counter: int, *, digits: int = DIGITS, digest: str = "sha1") -> str:
    """RFC 4226: the `digits`-digit code of `counter` (dynamic truncation of the HMAC)."""
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def step_at(unix_s: float) -> int:
    """The RFC 6238 time step (T) of a moment."""
    return int(unix_s // STEP_S)


def code_at(secret: str, unix_s: float) -> str:
    """The code an app shows at `unix_s` for a base32 secret."""
    return hotp(_key(secret), step_at(unix_s))


def matching_step(secret: str, code: str, unix_s: float, *, after_step: int | None = None) -> int | None:
    """The step whose code `code` is, within `DRIFT_STEPS` of now and later than
    `after_step` (a code already used, or an older one, is refused); None if none."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    key = _key(secret)
    now = step_at(unix_s)
    found = None
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        # Every candidate is compared, in constant time, whatever matched before.
        if hmac.compare_digest(hotp(key, step), code) and (after_step is None or step > after_step):
            found = step
    return found


def provisioning_uri(secret: str, account: str, issuer: str = ISSUER) -> str:
    """The `otpauth://` URI an app reads from a QR code (Google Authenticator's format)."""
    label = urllib.parse.quote(f"{issuer}:{account}", safe=":@")
    query = urllib.parse.urlencode({
        "secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": STEP_S,
    })
    return f"otpauth://totp/{label}?{query}"


def _key(secret: str) -> bytes:
    text = secret.strip().replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))
