"""Schema changes of the templates domain: templates, versions and preview.

None so far: ``templates`` and ``template_versions`` (0001) already hold what the
API needs (``templates.version`` for optimistic concurrency, one
``template_versions`` row per save, unique per template and number); previews
store nothing. Kept so the revision chain stays fixed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
