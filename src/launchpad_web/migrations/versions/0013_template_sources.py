"""Templates from repositories: template_sources and import_jobs.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("template_id", sa.Uuid(), nullable=True),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("spec", sa.String(length=1024), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=True),
        sa.Column("format", sa.String(length=40), nullable=True),
        sa.Column("forge", sa.String(length=40), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("dedupe", sa.String(length=300), nullable=True),
        sa.Column("result_template_id", sa.Uuid(), nullable=True),
        sa.Column("commit", sa.String(length=64), nullable=True),
        sa.Column("tag", sa.String(length=255), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("unchanged", sa.Boolean(), nullable=False),
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
            ["result_template_id"],
            ["templates.id"],
            name=op.f("fk_import_jobs_result_template_id_templates"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_import_jobs_team_id_teams"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["templates.id"],
            name=op.f("fk_import_jobs_template_id_templates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_import_jobs_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
        sa.UniqueConstraint(
            "template_id", "dedupe", name=op.f("uq_import_jobs_template_id_dedupe")
        ),
    )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_import_jobs_status_lease_expires_at", ["status", "lease_expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_import_jobs_team_id"), ["team_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_import_jobs_template_id"), ["template_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_import_jobs_user_id"), ["user_id"], unique=False)

    op.create_table(
        "template_sources",
        sa.Column("template_id", sa.Uuid(), nullable=False),
        sa.Column("spec", sa.String(length=1024), nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=False),
        sa.Column("forge", sa.String(length=40), nullable=True),
        sa.Column("repository", sa.String(length=255), nullable=True),
        sa.Column("ref", sa.String(length=255), nullable=True),
        sa.Column("format", sa.String(length=40), nullable=True),
        sa.Column("commit", sa.String(length=64), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=True),
        sa.Column("following", sa.Boolean(), nullable=False),
        sa.Column("webhook_secret", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["templates.id"],
            name=op.f("fk_template_sources_template_id_templates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("template_id", name=op.f("pk_template_sources")),
    )
    with op.batch_alter_table("template_sources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_template_sources_following"), ["following"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("template_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_template_sources_following"))

    op.drop_table("template_sources")
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_jobs_user_id"))
        batch_op.drop_index(batch_op.f("ix_import_jobs_template_id"))
        batch_op.drop_index(batch_op.f("ix_import_jobs_team_id"))
        batch_op.drop_index("ix_import_jobs_status_lease_expires_at")

    op.drop_table("import_jobs")
