"""Template list generations: the list cache of API processes without Redis.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "template_list_generations",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("generation", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_template_list_generations")),
    )


def downgrade() -> None:
    op.drop_table("template_list_generations")
