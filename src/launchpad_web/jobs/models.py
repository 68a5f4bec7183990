"""Tables of the jobs domain: generation_jobs and events (in-app notifications)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, HasId, HasTimestamps, utc_now

#: What a stored job's answers hold in place of a secret answer (the secret itself
#: travels only in the queue message, see ``launchpad_worker.queue``).
REDACTED = "***"


class JobStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


def log_entry(at: datetime, step: str, message: str, **extra: Any) -> dict[str, Any]:
    """One item of :attr:`GenerationJob.log` (shown as ``LogStep``)."""
    return {"at": at.isoformat(), "step": step, "message": message, **extra}


def progress_of(files: int, total: int, path: str | None, size: int) -> dict[str, Any]:
    """What :attr:`GenerationJob.progress` holds (shown as ``JobProgress``): ``files`` of
    the template's ``total`` files rendered, ``path`` (in the template) the last one done
    (None once finished), ``bytes`` of output so far."""
    return {"files": files, "total": total, "path": path, "bytes": size}


class Leased:
    """The columns of a queued job's lifecycle (:mod:`~launchpad_web.jobs.leases`): a
    worker holds a lease (``lease_owner`` until ``lease_expires_at``) while it works;
    ``attempts`` counts leases taken; ``log`` is its steps.

    ``EVENT_JOB`` names the column the job's in-app events point at (a generation
    job; None: they point at none), ``FAILED`` how its failure starts in plain words."""

    EVENT_JOB: str | None = "id"
    FAILED = "Your project could not be made"

    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[JobStatus] = mapped_column(default=JobStatus.PENDING)
    log: Mapped[list[Any]] = mapped_column(default=list)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(200))
    lease_expires_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class GenerationJob(Leased, HasId, HasTimestamps, Base):
    """One render of a template version with answers (secrets left out), run by a worker.
    The artifact is a file the worker wrote."""

    __tablename__ = "generation_jobs"
    __table_args__ = (
        sa.Index("ix_generation_jobs_status_lease_expires_at", "status", "lease_expires_at"),
        sa.UniqueConstraint("user_id", "idempotency_key"),
    )

    template_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("templates.id", ondelete="SET NULL"), index=True
    )
    template_version: Mapped[int | None]
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    artifact_key: Mapped[str | None] = mapped_column(sa.String(1024))
    artifact_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    artifact_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: How far the render is (:func:`progress_of`), replaced as it goes on; the last
    #: attempt's (a new attempt starts over).
    progress: Mapped[dict[str, Any] | None]
    #: The submission's ``Idempotency-Key`` and a digest of its request (one job per key).
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(255))
    request_digest: Mapped[str | None] = mapped_column(sa.String(64))


class EventKind(enum.StrEnum):
    JOB_COMPLETED = "job_completed"
    JOB_FAILED = "job_failed"


class Event(HasId, Base):
    """An in-app notification for a user, listed by ``GET /api/events``."""

    __tablename__ = "events"
    __table_args__ = (sa.Index("ix_events_user_id_created_at", "user_id", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    job_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("generation_jobs.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[EventKind]
    message: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
