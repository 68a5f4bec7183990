"""``forge_accounts.scopes``: what the forge granted the account's token, space-separated
(NULL for links made before scopes were asked for incrementally: they were granted the
repository scopes up front).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("forge_accounts", sa.Column("scopes", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("forge_accounts") as batch:
        batch.drop_column("scopes")
