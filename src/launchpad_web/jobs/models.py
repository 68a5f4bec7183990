"""Tables of the jobs domain: generation_jobs."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, HasId, HasTimestamps


class JobStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class GenerationJob(HasId, HasTimestamps, Base):
    """One render of a template version with answers (secrets left out), run by a worker.

    A worker holds a lease (``lease_owner`` until ``lease_expires_at``) while it
    works; ``attempts`` counts leases taken. The artifact is a file the worker wrote.
    """

    __tablename__ = "generation_jobs"
    __table_args__ = (
        sa.Index("ix_generation_jobs_status_lease_expires_at", "status", "lease_expires_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    template_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("templates.id", ondelete="SET NULL"), index=True
    )
    template_version: Mapped[int | None]
    status: Mapped[JobStatus] = mapped_column(default=JobStatus.PENDING)
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    log: Mapped[list[Any]] = mapped_column(default=list)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(200))
    lease_expires_at: Mapped[datetime | None]
    artifact_path: Mapped[str | None] = mapped_column(sa.String(1024))
    artifact_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    artifact_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    error: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
