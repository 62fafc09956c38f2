"""AES-256-GCM sealing of exchange credentials (and users' TOTP keys) before they reach
the database.

Each value gets its own random 96-bit nonce, and the associated data names the account
and the field it belongs to: a sealed API secret copied into another account's row, or
into its own row's `api_key` column, no longer opens. A sealed value is
`version (1 byte) | nonce (12) | ciphertext and tag`. The key is 32 bytes, given as hex or
base64 in `TRADERD_ENCRYPTION_KEY` (or the file `[api] encryption_key_file` names); it is
never stored beside the data. A user's secret is bound the same way, to
`traderd/user/<id>/<field>`, so it never opens as an account's.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_ENV = "TRADERD_ENCRYPTION_KEY"
KEY_BYTES = 32
NONCE_BYTES = 12
VERSION = b"\x01"
FIELDS = ("api_key", "api_secret", "password")
USER_FIELDS = ("totp_secret",)


class SealingError(Exception):
    """A sealed value does not open: the wrong key, or it was altered or moved."""


def parse_key(text: str) -> bytes:
    """The 32-byte key from its hex (64 digits) or base64 spelling; ValueError otherwise.
    The message never repeats the text."""
    text = text.strip()
    if len(text) == 2 * KEY_BYTES:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    try:
        key = base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise ValueError(f"the encryption key must be {KEY_BYTES} bytes, written as 64 hex digits or in base64")
    return key


def key_spellings(key: bytes) -> list[str]:
    """The ways the key may be written, for the log redaction registry."""
    return [key.hex(), key.hex().upper(), base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode(),
            base64.b64encode(key).decode().rstrip("=")]


def new_key_text() -> str:
    """A fresh key in base64, for `traderd` docs and tests."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


class Sealer:
    """Seals and opens one account field at a time with one key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"the encryption key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "Sealer(<key hidden>)"

    def seal(self, value: str, account_id: str, field: str) -> bytes:
        return self._seal(value, _associated(account_id, field))

    def unseal(self, sealed: bytes, account_id: str, field: str) -> str:
        return self._open(sealed, _associated(account_id, field), f"the sealed {field} of account {account_id}")

    def seal_user(self, value: str, user_id: str, field: str) -> bytes:
        """Seal a user's secret (their TOTP key), bound to that user and field."""
        return self._seal(value, _user_associated(user_id, field))

    def unseal_user(self, sealed: bytes, user_id: str, field: str) -> str:
        return self._open(sealed, _user_associated(user_id, field), f"the sealed {field} of user {user_id}")

    def _seal(self, value: str, associated: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, value.encode("utf-8"), associated)

    def _open(self, sealed: bytes, associated: bytes, what: str) -> str:
        if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != VERSION:
            raise SealingError(f"{what} is malformed")
        nonce, body = sealed[1:1 + NONCE_BYTES], sealed[1 + NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, body, associated).decode("utf-8")
        except InvalidTag:
            raise SealingError(f"{what} does not open: wrong key, or the value was altered") from None


def _associated(account_id: str, field: str) -> bytes:
    if field not in FIELDS:
        raise ValueError(f"unknown sealed field {field!r}")
    return f"traderd/account/{account_id}/{field}".encode("utf-8")


def _user_associated(user_id: str, field: str) -> bytes:
    if field not in USER_FIELDS:
        raise ValueError(f"unknown sealed user field {field!r}")
    return f"traderd/user/{user_id}/{field}".encode("utf-8")


def encode_sealed(sealed: bytes | None) -> str | None:
    """Sealed bytes as text for event payloads (the journal codec stores text)."""
    return None if sealed is None else base64.b64encode(sealed).decode("ascii")


def decode_sealed(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)
