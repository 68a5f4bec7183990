"""``artifact_path`` becomes ``artifact_key``: it holds the storage's key (a folder of
archives, or an object prefix in a bucket), never a path.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("generation_jobs", "update_jobs")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("artifact_path", new_column_name="artifact_key")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("artifact_key", new_column_name="artifact_path")
