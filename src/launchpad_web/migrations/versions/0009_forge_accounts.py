"""Forge accounts (GitHub, GitLab ...) linked to users, their tokens encrypted.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forge_accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("forge", sa.String(length=40), nullable=False),
        sa.Column("forge_user_id", sa.String(length=100), nullable=False),
        sa.Column("login", sa.String(length=255), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_forge_accounts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forge_accounts")),
        sa.UniqueConstraint("forge", "forge_user_id",
                            name=op.f("uq_forge_accounts_forge_forge_user_id")),
        sa.UniqueConstraint("user_id", "forge", name=op.f("uq_forge_accounts_user_id_forge")),
    )
    op.create_index(op.f("ix_forge_accounts_user_id"), "forge_accounts", ["user_id"])


def downgrade() -> None:
    op.drop_table("forge_accounts")
