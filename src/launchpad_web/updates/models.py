"""Tables of the updates domain: update_jobs and project_checks.

An update job brings one project to ``target_version`` of its template. It is run by
a worker with the lease lifecycle of generation jobs (:mod:`launchpad_web.jobs.leases`
on this table). Its result is a patch and the list of conflicts, kept in the
artifact storage under ``artifact_key``; for a project published to a forge
repository also ``branch``, ``commit_sha`` and ``change_url`` (the pull or merge
request).

A project check is the fleet's answer to "would updating this project to
``target_version`` conflict": one row per project and version, ``would_conflict``
NULL while a worker computes it.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, HasId, HasTimestamps
from ..jobs.models import Leased


class UpdateJob(Leased, HasId, HasTimestamps, Base):
    """Update project ``project_id`` from ``from_version`` to ``target_version`` with
    ``answers`` (the new questions' non-secret answers; secret ones travel only in the
    queue message, as for generation jobs)."""

    __tablename__ = "update_jobs"
    __table_args__ = (
        sa.Index("ix_update_jobs_status_lease_expires_at", "status", "lease_expires_at"),
        sa.Index("ix_update_jobs_project_id_created_at", "project_id", "created_at"),
    )
    EVENT_JOB = "generation_job_id"
    FAILED = "Your project could not be updated"

    project_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"))
    #: The project's generation job (the in-app events point at it); NULL once it is gone.
    generation_job_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("generation_jobs.id", ondelete="SET NULL"))
    from_version: Mapped[int]
    target_version: Mapped[int]
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    artifact_key: Mapped[str | None] = mapped_column(sa.String(1024))
    conflicts: Mapped[list[Any] | None]
    changed_files: Mapped[int | None]
    branch: Mapped[str | None] = mapped_column(sa.String(255))
    commit_sha: Mapped[str | None] = mapped_column(sa.String(64))
    change_url: Mapped[str | None] = mapped_column(sa.String(1024))
