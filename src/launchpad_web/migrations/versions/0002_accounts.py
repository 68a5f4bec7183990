"""Schema changes of the accounts domain: API tokens, login throttling and account-side changes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "scope",
            sa.Enum(
                "account",
                "address",
                name="throttlescope",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("key", sa.String(length=320), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_failed_at"), "login_failures", ["failed_at"])
    op.create_index(
        "ix_login_failures_scope_key_failed_at", "login_failures", ["scope", "key", "failed_at"]
    )


def downgrade() -> None:
    op.drop_table("login_failures")
