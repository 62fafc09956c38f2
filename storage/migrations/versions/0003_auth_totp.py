"""Two-factor login: room for a sealed TOTP secret, a pending one, and the last step used.

`totp_secret` grows from 64 to 255 characters because a secret sealed with AES-GCM and
written in base64 no longer fits 64. On SQLite the batch copies the table (`storage.migrate`
turns foreign keys off around it, so nothing cascades).

Revision ID: 0003
Revises: 0002
Create Date: 2026-02-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.alter_column("totp_secret", existing_type=sa.String(64), type_=sa.String(255), existing_nullable=True)
        batch.add_column(sa.Column("totp_pending", sa.String(255), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_pending")
        batch.alter_column("totp_secret", existing_type=sa.String(255), type_=sa.String(64), existing_nullable=True)
