"""The tables: the append-only `events` journal and the projections it keeps current.

Rows are plain records, not the domain objects of `trading/`; the classes end in `Row` so
the two never get mixed up. Money columns are `ExactDecimal`, times `UTCDateTime`. The
naming convention gives every constraint and index a fixed name, so migrations written by
hand and by autogenerate agree. Any change here needs a migration in `migrations/versions/`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import ExactDecimal, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

ROLES = ("admin", "trader", "viewer")
SOURCES = ("config", "api")
BOT_STATUSES = ("stopped", "starting", "running", "paused", "stopping", "error")
ORDER_SIDES = ("buy", "sell")
ORDER_STATUSES = (
    "INITIALIZED",
    "DENIED",
    "SUBMITTED",
    "ACCEPTED",
    "PENDING_CANCEL",
    "PARTIALLY_FILLED",
    "FILLED",
    "CANCELED",
    "REJECTED",
    "EXPIRED",
)
GRID_LEVEL_STATUSES = ("available", "pending", "filled")

# SQLite only autoincrements a column declared exactly INTEGER PRIMARY KEY.
_EVENT_ID = BigInteger().with_variant(Integer(), "sqlite")


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    """A CHECK that `column` holds one of `values`, named `ck_<table>_<column>`."""
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


class Base(DeclarativeBase):
    metadata = metadata


class EventRow(Base):
    """One journaled domain event; rows are only ever inserted."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(_EVENT_ID, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    correlation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    event_type: Mapped[str] = mapped_column(String(64), index=True)
    bot_id: Mapped[str | None] = mapped_column(String(36), index=True)
    account_id: Mapped[str | None] = mapped_column(String(64), index=True)
    ts_event: Mapped[int] = mapped_column(BigInteger)
    ts_init: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text)


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (_one_of("role", ROLES),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    full_name: Mapped[str | None] = mapped_column(String(255))
    # The TOTP secret of a user with two-factor login on: sealed (AES-GCM) when the daemon
    # has an encryption key, else base32 as is. `totp_pending` holds one set up but not yet
    # confirmed; `totp_last_step` is the newest 30 s step accepted, so no code works twice.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    preferences: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    totp_pending: Mapped[str | None] = mapped_column(String(255))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)


class RefreshTokenRow(Base):
    """A refresh token the API issued, by its `jti`. Only its SHA-256 is kept: a copy of
    the database is no key to anyone's session. Used once, then revoked (rotation)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountRow(Base):
    """An exchange account; its secrets are sealed (AES-GCM) before they get here."""

    __tablename__ = "accounts"
    __table_args__ = (_one_of("source", SOURCES),)

    # A UUID for accounts made through the API, the config id for config accounts.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    exchange: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(8))
    is_testnet: Mapped[bool] = mapped_column(Boolean, default=False)
    api_key_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    api_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    password_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    api_key_hint: Mapped[str | None] = mapped_column(String(16))
    is_valid: Mapped[bool | None] = mapped_column(Boolean)
    last_validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BotRow(Base):
    __tablename__ = "bots"
    __table_args__ = (_one_of("source", SOURCES), _one_of("status", BOT_STATUSES))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(64), ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    strategy: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32))
    config: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(8))
    # The bot's id in the config files, for bots that come from there.
    config_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The short tag in client order ids, and the last order sequence the journal holds.
    tag: Mapped[str] = mapped_column(String(16), unique=True)
    order_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="stopped")
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        _one_of("side", ORDER_SIDES),
        _one_of("status", ORDER_STATUSES),
        Index(None, "bot_id", "status"),
        Index(None, "account_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_order_id: Mapped[str] = mapped_column(String(36), unique=True)
    exchange_order_id: Mapped[str | None] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(String(64))
    bot_id: Mapped[str | None] = mapped_column(String(36))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(4))
    order_type: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    filled_quantity: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0))
    average_fill_price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    fee: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0))
    fee_currency: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), default="INITIALIZED")
    grid_index: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FillRow(Base):
    """One execution; an exchange's trade id is unique per account, so a replay is a no-op."""

    __tablename__ = "fills"
    __table_args__ = (_one_of("side", ORDER_SIDES), UniqueConstraint("account_id", "trade_id"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    trade_id: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str] = mapped_column(String(36), ForeignKey("orders.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(64))
    bot_id: Mapped[str | None] = mapped_column(String(36), index=True)
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(4))
    price: Mapped[Decimal] = mapped_column(ExactDecimal)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    fee: Mapped[Decimal] = mapped_column(ExactDecimal)
    # Exchanges do not always report the fee currency; a fill must never be refused for it.
    fee_currency: Mapped[str | None] = mapped_column(String(16))
    is_maker: Mapped[bool | None] = mapped_column(Boolean)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)


class GridLevelRow(Base):
    __tablename__ = "grid_levels"
    __table_args__ = (_one_of("side", ORDER_SIDES), _one_of("status", GRID_LEVEL_STATUSES))

    bot_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("bots.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    price: Mapped[Decimal] = mapped_column(ExactDecimal)
    side: Mapped[str | None] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(16), default="available")
    order_id: Mapped[str | None] = mapped_column(String(36))
    filled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PaperBalanceRow(Base):
    """What a paper account holds of one asset; the paper exchange's memory across restarts."""

    __tablename__ = "paper_balances"

    account_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    asset: Mapped[str] = mapped_column(String(16), primary_key=True)
    free: Mapped[Decimal] = mapped_column(ExactDecimal)
    locked: Mapped[Decimal] = mapped_column(ExactDecimal)
