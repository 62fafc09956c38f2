"""Events of exchange accounts made through the API: created, changed, checked, deleted.

Credentials travel only sealed (AES-256-GCM, base64 text; see `storage.sealing`): the
journal stores these events whole, and it must never hold a clear secret. A paper
account's `initial_balances` are what its venue folds its order events over, on every
restore.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from trading.messages import Event


@dataclass(frozen=True, kw_only=True)
class AccountCreated(Event):
    account_id: str
    owner_id: str | None
    name: str
    exchange: str
    is_testnet: bool = False
    api_key_sealed: str | None = None
    api_secret_sealed: str | None = None
    password_sealed: str | None = None
    api_key_hint: str | None = None
    ip_whitelist: tuple[str, ...] = ()
    initial_balances: dict[str, Decimal] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    """Replacement exchange URLs (a testnet, a proxy; `CcxtSettings.urls`), not secret."""


@dataclass(frozen=True, kw_only=True)
class AccountChanged(Event):
    """Only the fields that are not None change; new credentials reset `is_valid`."""

    account_id: str
    name: str | None = None
    is_testnet: bool | None = None
    api_key_sealed: str | None = None
    api_secret_sealed: str | None = None
    password_sealed: str | None = None
    password_removed: bool = False
    api_key_hint: str | None = None
    ip_whitelist: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class AccountValidated(Event):
    """A check of the account with its exchange; `ts_event` is when it ran."""

    account_id: str
    is_valid: bool


@dataclass(frozen=True, kw_only=True)
class AccountDeleted(Event):
    account_id: str
