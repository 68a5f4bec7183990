"""Sign-up throttling: the accounts created per client address.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signup_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup_attempts")),
    )
    op.create_index(op.f("ix_signup_attempts_attempted_at"), "signup_attempts", ["attempted_at"])
    op.create_index(
        "ix_signup_attempts_address_attempted_at", "signup_attempts", ["address", "attempted_at"]
    )


def downgrade() -> None:
    op.drop_table("signup_attempts")
