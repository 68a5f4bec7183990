"""Table of the publishing domain: publish_jobs, a generation job's files pushed to a
repository on a forge, run by a worker with the same lease lifecycle as generation."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, HasId, HasTimestamps
from ..jobs.models import Leased


class PublishJob(Leased, HasId, HasTimestamps, Base):
    """Push the files of generation job ``job_id`` as one commit to a new repository
    ``name`` (``private``, ``description``) or to the existing empty ``repository``
    (``owner/name``) on ``forge``.

    ``create_requested`` is set (and committed) before the worker asks the forge to create
    the repository, so a later attempt knows a "name taken" may be its own. ``repository``
    is the destination's path once known, ``destination_url`` its web address and
    ``commit_sha`` the commit pushed, once done."""

    __tablename__ = "publish_jobs"
    __table_args__ = (
        sa.Index("ix_publish_jobs_status_lease_expires_at", "status", "lease_expires_at"),
    )
    EVENT_JOB = "job_id"
    FAILED = "Your project could not be published"

    job_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("generation_jobs.id", ondelete="CASCADE"), index=True
    )
    forge: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str | None] = mapped_column(sa.String(100))
    private: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str] = mapped_column(sa.String(350), default="")
    existing: Mapped[bool] = mapped_column(default=False)
    create_requested: Mapped[bool] = mapped_column(default=False)
    repository: Mapped[str | None] = mapped_column(sa.String(255))
    destination_url: Mapped[str | None] = mapped_column(sa.String(1024))
    commit_sha: Mapped[str | None] = mapped_column(sa.String(64))
