"""A followed template's failed polls: ``poll_failures`` in a row, the last one's reason
(``poll_error``) and when the next poll may come (``poll_after``, backing off).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("template_sources") as batch:
        batch.add_column(sa.Column("poll_failures", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("poll_error", sa.String(500), nullable=True))
        batch.add_column(sa.Column("poll_after", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("template_sources") as batch:
        for column in ("poll_after", "poll_error", "poll_failures"):
            batch.drop_column(column)
