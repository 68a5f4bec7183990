"""Alembic's entry point, configured by :mod:`launchpad_web.migrate` (no alembic.ini).

The caller hands a connection in ``config.attributes["connection"]``; SQLite gets
batch mode so ALTERs become table copies.
"""

from typing import Any

from alembic import context

from launchpad_web.db import JSON_TYPE, UTCDateTime
from launchpad_web.models import metadata


def render_item(kind: str, obj: Any, autogen: Any) -> str | bool:
    """Revisions spell our column types with plain SQLAlchemy, never import our code."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if kind == "type" and obj is JSON_TYPE:
        autogen.imports.add("from sqlalchemy.dialects import postgresql")
        return 'sa.JSON().with_variant(postgresql.JSONB(), "postgresql")'
    return False


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through launchpad_web.migrate (`launchpad db upgrade`)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
