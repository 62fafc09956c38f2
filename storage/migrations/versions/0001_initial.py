"""The journal, users, accounts, bots, orders, fills, grid levels and paper balances.

Revision ID: 0001
Revises:
Create Date: 2026-01-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import ExactDecimal, UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

SIDES = "side IN ('buy', 'sell')"
SOURCES = "source IN ('config', 'api')"


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("correlation_id", sa.String(64), nullable=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("bot_id", sa.String(36), nullable=True),
        sa.Column("account_id", sa.String(64), nullable=True),
        sa.Column("ts_event", sa.BigInteger(), nullable=False),
        sa.Column("ts_init", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("message_id", name=op.f("uq_events_message_id")),
    )
    for column in ("correlation_id", "event_type", "bot_id", "account_id"):
        op.create_index(op.f(f"ix_events_{column}"), "events", [column])

    op.create_table(
        "users",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("email", sa.String(255), nullable=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("full_name", sa.String(255), nullable=True),
        sa.Column("totp_secret", sa.String(64), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("preferences", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.CheckConstraint(
            "role IN ('admin', 'trader', 'viewer')", name=op.f("ck_users_role")
        ),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )

    op.create_table(
        "accounts",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("owner_id", sa.String(36), nullable=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("exchange", sa.String(32), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("is_testnet", sa.Boolean(), nullable=False),
        sa.Column("api_key_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("api_secret_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("password_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("api_key_hint", sa.String(16), nullable=True),
        sa.Column("is_valid", sa.Boolean(), nullable=True),
        sa.Column("last_validated_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.CheckConstraint(SOURCES, name=op.f("ck_accounts_source")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_accounts_owner_id_users")
        ),
    )
    op.create_index(op.f("ix_accounts_owner_id"), "accounts", ["owner_id"])

    op.create_table(
        "bots",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("owner_id", sa.String(36), nullable=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("strategy", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("config_key", sa.String(64), nullable=True),
        sa.Column("tag", sa.String(16), nullable=False),
        sa.Column("order_seq", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("stopped_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bots")),
        sa.CheckConstraint(SOURCES, name=op.f("ck_bots_source")),
        sa.CheckConstraint(
            "status IN ('stopped', 'starting', 'running', 'paused', 'stopping', 'error')",
            name=op.f("ck_bots_status"),
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_bots_owner_id_users")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_bots_account_id_accounts")
        ),
        sa.UniqueConstraint("config_key", name=op.f("uq_bots_config_key")),
        sa.UniqueConstraint("tag", name=op.f("uq_bots_tag")),
    )
    op.create_index(op.f("ix_bots_owner_id"), "bots", ["owner_id"])
    op.create_index(op.f("ix_bots_account_id"), "bots", ["account_id"])

    op.create_table(
        "orders",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("client_order_id", sa.String(36), nullable=False),
        sa.Column("exchange_order_id", sa.String(64), nullable=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("bot_id", sa.String(36), nullable=True),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("order_type", sa.String(16), nullable=False),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        sa.Column("price", ExactDecimal(), nullable=True),
        sa.Column("filled_quantity", ExactDecimal(), nullable=False),
        sa.Column("average_fill_price", ExactDecimal(), nullable=True),
        sa.Column("fee", ExactDecimal(), nullable=False),
        sa.Column("fee_currency", sa.String(16), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("grid_index", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.CheckConstraint(SIDES, name=op.f("ck_orders_side")),
        sa.CheckConstraint(
            "status IN ('INITIALIZED', 'DENIED', 'SUBMITTED', 'ACCEPTED', 'PENDING_CANCEL',"
            " 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED')",
            name=op.f("ck_orders_status"),
        ),
        sa.UniqueConstraint("client_order_id", name=op.f("uq_orders_client_order_id")),
    )
    op.create_index(op.f("ix_orders_bot_id_status"), "orders", ["bot_id", "status"])
    op.create_index(op.f("ix_orders_account_id_status"), "orders", ["account_id", "status"])

    op.create_table(
        "fills",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("trade_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("bot_id", sa.String(36), nullable=True),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("price", ExactDecimal(), nullable=False),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        sa.Column("fee", ExactDecimal(), nullable=False),
        sa.Column("fee_currency", sa.String(16), nullable=True),
        sa.Column("is_maker", sa.Boolean(), nullable=True),
        sa.Column("ts", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fills")),
        sa.CheckConstraint(SIDES, name=op.f("ck_fills_side")),
        sa.UniqueConstraint("account_id", "trade_id", name=op.f("uq_fills_account_id_trade_id")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_fills_order_id_orders")
        ),
    )
    op.create_index(op.f("ix_fills_order_id"), "fills", ["order_id"])
    op.create_index(op.f("ix_fills_bot_id"), "fills", ["bot_id"])

    op.create_table(
        "grid_levels",
        sa.Column("bot_id", sa.String(36), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("price", ExactDecimal(), nullable=False),
        sa.Column("side", sa.String(4), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=True),
        sa.Column("filled_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("bot_id", "index", name=op.f("pk_grid_levels")),
        sa.CheckConstraint(SIDES, name=op.f("ck_grid_levels_side")),
        sa.CheckConstraint(
            "status IN ('available', 'pending', 'filled')", name=op.f("ck_grid_levels_status")
        ),
        sa.ForeignKeyConstraint(
            ["bot_id"], ["bots.id"], name=op.f("fk_grid_levels_bot_id_bots"), ondelete="CASCADE"
        ),
    )

    op.create_table(
        "paper_balances",
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("asset", sa.String(16), nullable=False),
        sa.Column("free", ExactDecimal(), nullable=False),
        sa.Column("locked", ExactDecimal(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "asset", name=op.f("pk_paper_balances")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_paper_balances_account_id_accounts"),
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    for table in (
        "paper_balances", "grid_levels", "fills", "orders", "bots", "accounts", "users", "events"
    ):
        op.drop_table(table)
