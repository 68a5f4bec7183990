"""The job's lifecycle: every change of a job row's state, each one compare-and-set.

The row is the source of truth, the queue only a hint: a worker owns a job
while it holds the lease (``lease_owner`` until ``lease_expires_at``), taken by
an ``UPDATE ... WHERE`` that matches only a job nobody holds. Every later
change names the owner in its ``WHERE``, so a worker whose lease was taken
over changes nothing (its update matches no row) and throws its work away.
Functions here flush and never commit; the caller commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..templates.models import TemplateRecord, TemplateVersion
from .models import Event, EventKind, GenerationJob, JobStatus, log_entry

ACTIVE = (JobStatus.PENDING, JobStatus.PROCESSING)


@attrs.frozen
class Claim:
    """What a worker needs of a job it now holds."""

    job_id: uuid.UUID
    user_id: uuid.UUID
    attempt: int
    answers: dict[str, Any]
    template_id: uuid.UUID | None
    template_version: int | None
    #: The owner's address, for the notification when the job ends.
    email: str | None = None


def claim(db: Session, job_id: uuid.UUID, *, owner: str, now: datetime, lease: timedelta,
          max_attempts: int) -> Claim | None:
    """Take the lease of a job nobody holds; None when it is held, finished or used up."""
    taken = db.execute(
        sa.update(GenerationJob)
        .where(
            GenerationJob.id == job_id,
            GenerationJob.status.in_(ACTIVE),
            GenerationJob.attempts < max_attempts,
            sa.or_(GenerationJob.lease_expires_at.is_(None),
                   GenerationJob.lease_expires_at < now),
        )
        .values(status=JobStatus.PROCESSING, lease_owner=owner, lease_expires_at=now + lease,
                attempts=GenerationJob.attempts + 1,
                started_at=sa.func.coalesce(GenerationJob.started_at, now), updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        return None
    # The row is ours: the UPDATE above holds it until the commit. Plain rows, not the
    # ORM's objects: a worker reads a job once and changes it with UPDATEs.
    job = db.execute(
        sa.select(GenerationJob.user_id, GenerationJob.attempts, GenerationJob.answers,
                  GenerationJob.template_id, GenerationJob.template_version, GenerationJob.log,
                  User.email)
        .outerjoin(User, User.id == GenerationJob.user_id).where(GenerationJob.id == job_id)
    ).one()
    db.execute(
        sa.update(GenerationJob).where(GenerationJob.id == job_id)
        .values(log=[*job.log, log_entry(now, "started", f"attempt {job.attempts} started")])
        .execution_options(synchronize_session=False))
    return Claim(job_id, job.user_id, job.attempts, dict(job.answers), job.template_id,
                 job.template_version, job.email)


def definition(db: Session, template_id: uuid.UUID, number: int) -> dict[str, Any] | None:
    """The definition of version ``number`` of a template; None when it was deleted."""
    version = db.scalar(sa.select(TemplateVersion.definition).where(
        TemplateVersion.template_id == template_id, TemplateVersion.number == number))
    if version is not None:
        return version
    return db.scalar(sa.select(TemplateRecord.definition).where(
        TemplateRecord.id == template_id, TemplateRecord.version == number))


def _held(job_id: uuid.UUID, owner: str) -> sa.ColumnElement[bool]:
    return sa.and_(GenerationJob.id == job_id, GenerationJob.lease_owner == owner,
                   GenerationJob.status == JobStatus.PROCESSING)


def heartbeat(db: Session, job_id: uuid.UUID, *, owner: str, now: datetime,
              lease: timedelta) -> bool:
    """Extend the lease; False when it is no longer ours."""
    return db.execute(
        sa.update(GenerationJob).where(_held(job_id, owner))
        .values(lease_expires_at=now + lease)
        .execution_options(synchronize_session=False)
    ).rowcount == 1


def complete(db: Session, job_id: uuid.UUID, *, owner: str, now: datetime, key: str,
             size: int, sha256: str, files: int, total_bytes: int) -> bool:
    """Mark the job completed with its artifact; False when the lease was lost (someone
    else runs or ran it: the caller deletes its artifact)."""
    noun = "file" if files == 1 else "files"
    step = log_entry(now, "completed", f"{files} {noun}, {total_bytes} bytes; archive of "
                    f"{size} bytes ready", files=files, bytes=total_bytes)
    user_id = _finish(db, job_id, owner, now, step, status=JobStatus.COMPLETED,
                      artifact_path=key, artifact_size=size, artifact_sha256=sha256)
    if user_id is not None:
        db.add(Event(user_id=user_id, job_id=job_id, kind=EventKind.JOB_COMPLETED,
                     message="Your project is ready to download.", created_at=now))
    return user_id is not None


def fail(db: Session, job_id: uuid.UUID, *, owner: str | None, now: datetime,
         reason: str) -> bool:
    """Mark the job failed for ``reason`` (plain words) as its lease holder or, with
    ``owner=None``, as the sweeper taking an abandoned job; False when that lost."""
    step = log_entry(now, "failed", reason)
    user_id = _finish(db, job_id, owner, now, step, status=JobStatus.FAILED, error=reason)
    if user_id is not None:
        db.add(Event(user_id=user_id, job_id=job_id, kind=EventKind.JOB_FAILED,
                     message=f"Your project could not be made: {reason}", created_at=now))
    return user_id is not None


def _finish(db: Session, job_id: uuid.UUID, owner: str | None, now: datetime,
            step: dict[str, Any], **values: Any) -> uuid.UUID | None:
    """The finishing update; the job's user when it was ours to finish, else None."""
    if owner is not None:
        where = _held(job_id, owner)
    else:
        where = sa.and_(GenerationJob.id == job_id, GenerationJob.status.in_(ACTIVE),
                        sa.or_(GenerationJob.lease_expires_at.is_(None),
                               GenerationJob.lease_expires_at < now))
    row = db.execute(sa.select(GenerationJob.log, GenerationJob.user_id).where(where)
                     .with_for_update()).first()
    if row is None:
        return None
    done = db.execute(
        sa.update(GenerationJob).where(where)
        .values(log=[*row.log, step], lease_owner=None, lease_expires_at=None, finished_at=now,
                updated_at=now, **values)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    return row.user_id if done else None


def release(db: Session, job_id: uuid.UUID, *, now: datetime, message: str) -> bool:
    """Put a job whose lease expired back to pending (the sweeper, before re-enqueueing)."""
    where = sa.and_(GenerationJob.id == job_id, GenerationJob.status == JobStatus.PROCESSING,
                    GenerationJob.lease_expires_at < now)
    log = db.scalar(sa.select(GenerationJob.log).where(where).with_for_update())
    if log is None:
        return False
    return db.execute(
        sa.update(GenerationJob).where(where)
        .values(status=JobStatus.PENDING, lease_owner=None, lease_expires_at=None,
                updated_at=now, log=[*log, log_entry(now, "retrying", message)])
        .execution_options(synchronize_session=False)
    ).rowcount == 1
