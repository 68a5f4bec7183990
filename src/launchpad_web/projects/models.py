"""Tables of the projects domain: one row per project a generation job made.

A project is recorded when its job completes (:func:`.records.record`), once per
job (``job_id`` is unique). It outlives its template (``template_id`` becomes
NULL, ``template_name`` keeps what it was called) and its team (``team_id``
becomes NULL: the maker still sees it); it goes with its maker's account.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, HasId, utc_now


class Project(HasId, Base):
    """A generated project: which template version, with which answers (secret answers
    redacted as the job holds them), made by whom, in which team, and where it went:
    the job's archive, and ``destination`` (a forge repository's URL once publishing
    exists; NULL: the archive only)."""

    __tablename__ = "projects"
    __table_args__ = (
        sa.Index("ix_projects_template_id_template_version", "template_id", "template_version"),
        sa.Index("ix_projects_user_id_created_at", "user_id", "created_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("teams.id", ondelete="SET NULL"), index=True
    )
    template_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("templates.id", ondelete="SET NULL")
    )
    template_name: Mapped[str] = mapped_column(sa.String(200))
    template_version: Mapped[int]
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    job_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("generation_jobs.id", ondelete="SET NULL"), unique=True
    )
    destination: Mapped[str | None] = mapped_column(sa.String(2048))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class ProjectCheck(HasId, Base):
    """Whether updating ``project_id`` to ``target_version`` would conflict (NULL: being
    computed); written by the worker (:mod:`launchpad_web.updates.checks`), read by the
    fleet."""

    __tablename__ = "project_checks"
    __table_args__ = (sa.UniqueConstraint("project_id", "target_version"),)

    project_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"))
    target_version: Mapped[int]
    would_conflict: Mapped[bool | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    checked_at: Mapped[datetime | None]
