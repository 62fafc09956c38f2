"""Exchange accounts on the wire. Credentials come in as write-only strings and never go
out: responses carry `api_key_hint` ("****ab12") and `has_*` flags."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, SecretStr, StringConstraints

from api.schemas.common import Model, Money, PageQuery, UtcTimestamp

Credential = Annotated[SecretStr, Field(min_length=1, max_length=1024)]
AccountName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ExchangeId = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=32),
    Field(description="`paper`, or a ccxt exchange id such as `binance`", examples=["paper", "binance"]),
]
AssetCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9._-]{0,19}$")]
Amount = Annotated[Decimal, Field(ge=0, allow_inf_nan=False, max_digits=40)]


def _network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise ValueError("not an IP address or network") from None


IpNetwork = Annotated[str, AfterValidator(_network)]


def _http_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise ValueError("must be an http:// or https:// URL with a host and no credentials")
    return value.strip()


ExchangeUrls = Annotated[
    dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$")],
         Annotated[str, StringConstraints(max_length=300), AfterValidator(_http_url)]],
    Field(max_length=20, description="replacement exchange API URLs (a testnet, a proxy): `all` re-hosts every"
          " API URL onto one base, other keys replace that ccxt `urls['api']` entry",
          examples=[{"all": "https://proxy.example:8443"}]),
]


class AccountCreate(Model):
    """A new account. Live (ccxt) accounts need `api_key` and `api_secret`; `paper`
    accounts take `initial_balances` instead and no keys."""

    name: AccountName
    exchange: ExchangeId
    api_key: Credential | None = None
    api_secret: Credential | None = None
    password: Credential | None = Field(None, description="the passphrase some exchanges want (OKX, KuCoin)")
    is_testnet: bool = False
    ip_whitelist: list[IpNetwork] = Field(default_factory=list, max_length=50)
    urls: ExchangeUrls = Field(default_factory=dict)
    initial_balances: dict[AssetCode, Amount] | None = Field(
        None, description='paper only: `{"USDT": "10000"}`', examples=[{"USDT": "10000"}],
    )


class AccountPatch(Model):
    """Only the fields given change; `password: null` removes the passphrase. New keys
    reset `is_valid` until the next check."""

    name: AccountName | None = None
    api_key: Credential | None = None
    api_secret: Credential | None = None
    password: Credential | None = None
    is_testnet: bool | None = None
    ip_whitelist: list[IpNetwork] | None = Field(None, max_length=50)


class AccountValidate(Model):
    """Keys to check before saving them (`POST /accounts/validate`); it takes the same
    form as a new account (`name` and `ip_whitelist` are not checked)."""

    name: AccountName | None = None
    exchange: ExchangeId
    api_key: Credential | None = None
    api_secret: Credential | None = None
    password: Credential | None = None
    is_testnet: bool = False
    ip_whitelist: list[IpNetwork] = Field(default_factory=list, max_length=50)
    urls: ExchangeUrls = Field(default_factory=dict)
    initial_balances: dict[AssetCode, Amount] | None = None


class AccountListQuery(PageQuery):
    exchange: ExchangeId | None = None


class ValuationQuery(Model):
    quote: AssetCode = Field("USDT", description="the currency holdings are valued in")


class AccountOut(BaseModel):
    id: str
    name: str
    exchange: str
    source: Literal["api", "config"]
    owner_id: str | None
    is_testnet: bool
    api_key_hint: str | None = Field(description='the key\'s last four characters: "****ab12"')
    has_api_key: bool
    has_api_secret: bool
    has_password: bool
    ip_whitelist: list[str]
    initial_balances: dict[str, Money] | None = Field(description="paper accounts made through the API")
    is_valid: bool | None = Field(description="the last check's verdict; null before any")
    last_validated_at: UtcTimestamp | None
    connected: bool = Field(description="whether an exchange actor runs for the account (paper accounts;"
                            " live exchange accounts are stored but not connected yet)")
    created_at: UtcTimestamp
    updated_at: UtcTimestamp


class AccountTestOut(BaseModel):
    success: bool
    exchange: str
    balance: dict[str, Money] = Field(description="asset -> total")
    message: str


class BalanceOut(BaseModel):
    free: Money
    used: Money
    total: Money


class AccountBalanceOut(BaseModel):
    account_id: str
    quote_currency: str
    equity: Money = Field(description="the total of every priced asset in the quote currency")
    available_balance: Money = Field(description="the free quote currency")
    balances: dict[str, BalanceOut]
    unpriced_assets: list[str] = Field(description="assets held with no price in the quote currency yet; not in equity")


class HoldingOut(BaseModel):
    asset: str
    symbol: str | None = Field(description="the market that prices it, `ASSET/QUOTE`")
    free: Money
    used: Money
    total: Money
    price: Money | None
    value: Money | None = Field(description="total x price, in the quote currency")


class AccountPositionsOut(BaseModel):
    account_id: str
    quote_currency: str
    total_value: Money
    positions: list[HoldingOut]


def account_out(record: object, connected: bool) -> AccountOut:
    """The response model of a `storage.accounts.AccountRecord`."""
    values = {name: getattr(record, name) for name in AccountOut.model_fields if name != "connected"}
    values["ip_whitelist"] = list(values["ip_whitelist"])
    return AccountOut(**values, connected=connected)


__all__ = [
    "AccountBalanceOut", "AccountCreate", "AccountListQuery", "AccountOut", "AccountPatch", "AccountPositionsOut",
    "AccountTestOut", "AccountValidate", "BalanceOut", "HoldingOut", "ValuationQuery", "account_out",
]
