"""Tables of the templates domain: templates and template_versions.

``TemplateRecord`` is the stored row; :class:`launchpad_core.Template` is the
checked definition it holds as JSON.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, HasId, HasTimestamps, utc_now


class TemplateRecord(HasId, HasTimestamps, Base):
    """A template owned by a user, and shared with a team when ``team_id`` is set.

    ``definition`` and ``version`` are the latest saved version's.
    """

    __tablename__ = "templates"

    name: Mapped[str] = mapped_column(sa.String(200))
    definition: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(default=1)
    owner_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("teams.id", ondelete="CASCADE"), index=True
    )


class TemplateVersion(HasId, Base):
    """Every saved version of a template, addressable by ``(template_id, number)``."""

    __tablename__ = "template_versions"
    __table_args__ = (sa.UniqueConstraint("template_id", "number"),)

    template_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("templates.id", ondelete="CASCADE")
    )
    number: Mapped[int]
    definition: Mapped[dict[str, Any]]
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class TemplateListGeneration(Base):
    """The generation of a user's template lists, for the cache without Redis
    (:mod:`.database_pages`): a writer sets a new random one in the transaction that
    changes the lists, so it commits (or rolls back) with the change itself."""

    __tablename__ = "template_list_generations"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    generation: Mapped[str] = mapped_column(sa.String(16))
