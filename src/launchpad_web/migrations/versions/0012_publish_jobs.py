"""Publish jobs: a completed generation job pushed to a repository on a forge.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "publish_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("forge", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=350), nullable=False),
        sa.Column("existing", sa.Boolean(), nullable=False),
        sa.Column("create_requested", sa.Boolean(), nullable=False),
        sa.Column("repository", sa.String(length=255), nullable=True),
        sa.Column("destination_url", sa.String(length=1024), nullable=True),
        sa.Column("commit_sha", sa.String(length=64), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "processing",
                "completed",
                "failed",
                name="jobstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("log", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["generation_jobs.id"],
            name=op.f("fk_publish_jobs_job_id_generation_jobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_publish_jobs_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publish_jobs")),
    )
    with op.batch_alter_table("publish_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_publish_jobs_job_id"), ["job_id"], unique=False)
        batch_op.create_index(
            "ix_publish_jobs_status_lease_expires_at", ["status", "lease_expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_publish_jobs_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("publish_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publish_jobs_user_id"))
        batch_op.drop_index("ix_publish_jobs_status_lease_expires_at")
        batch_op.drop_index(batch_op.f("ix_publish_jobs_job_id"))

    op.drop_table("publish_jobs")
