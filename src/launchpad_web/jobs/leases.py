"""The job's lifecycle: every change of a job row's state, each one compare-and-set.

The row is the source of truth, the queue only a hint: a worker owns a job
while it holds the lease (``lease_owner`` until ``lease_expires_at``), taken by
an ``UPDATE ... WHERE`` that matches only a job nobody holds. Every later
change names the owner in its ``WHERE``, so a worker whose lease was taken
over changes nothing (its update matches no row) and throws its work away.
Functions here flush and never commit; the caller commits. Each takes the ``table``
of the job (a :class:`~.models.Leased` model): generation jobs by default, publish
jobs (:mod:`launchpad_web.publishing`) the same way.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, TypeVar

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..templates.models import TemplateRecord, TemplateVersion
from .models import (
    Event,
    EventKind,
    GenerationJob,
    JobStatus,
    Leased,
    log_entry,
    progress_of,
)

ACTIVE = (JobStatus.PENDING, JobStatus.PROCESSING)
T = TypeVar("T", bound=Leased)


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
    """Take the lease of a generation job nobody holds; None when it is held, finished or
    used up."""
    if not _leased(db, GenerationJob, job_id, owner=owner, now=now, lease=lease,
                   max_attempts=max_attempts):
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
        .values(log=[*job.log, log_entry(now, "started", f"attempt {job.attempts} started")],
                progress=None)
        .execution_options(synchronize_session=False))
    return Claim(job_id, job.user_id, job.attempts, dict(job.answers), job.template_id,
                 job.template_version, job.email)


def take(db: Session, table: type[T], job_id: uuid.UUID, *, owner: str,
         now: datetime, lease: timedelta, max_attempts: int) -> T | None:
    """Take the lease of a job of ``table`` nobody holds: its row, now ours; None when it
    is held, finished or used up."""
    if not _leased(db, table, job_id, owner=owner, now=now, lease=lease,
                   max_attempts=max_attempts):
        return None
    job = db.execute(sa.select(table).where(table.id == job_id)
                     .execution_options(populate_existing=True)).scalar_one()
    job.log = [*job.log, log_entry(now, "started", f"attempt {job.attempts} started")]
    job.updated_at = now
    db.flush()  # the row is ours: the UPDATE above holds it until the commit
    return job


def _leased(db: Session, table: type[Leased], job_id: uuid.UUID, *, owner: str,
            now: datetime, lease: timedelta, max_attempts: int) -> bool:
    """The UPDATE that takes a job's lease when nobody holds it; whether it did."""
    return db.execute(
        sa.update(table)
        .where(
            table.id == job_id,
            table.status.in_(ACTIVE),
            table.attempts < max_attempts,
            sa.or_(table.lease_expires_at.is_(None), table.lease_expires_at < now),
        )
        .values(status=JobStatus.PROCESSING, lease_owner=owner, lease_expires_at=now + lease,
                attempts=table.attempts + 1,
                started_at=sa.func.coalesce(table.started_at, now), updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount == 1


def definition(db: Session, template_id: uuid.UUID, number: int) -> dict[str, Any] | None:
    """The definition of version ``number`` of a template; None when it was deleted."""
    version = db.scalar(sa.select(TemplateVersion.definition).where(
        TemplateVersion.template_id == template_id, TemplateVersion.number == number))
    if version is not None:
        return version
    return db.scalar(sa.select(TemplateRecord.definition).where(
        TemplateRecord.id == template_id, TemplateRecord.version == number))


def _held(table: type[Leased], job_id: uuid.UUID, owner: str) -> sa.ColumnElement[bool]:
    return sa.and_(table.id == job_id, table.lease_owner == owner,
                   table.status == JobStatus.PROCESSING)


def heartbeat(db: Session, job_id: uuid.UUID, *, owner: str, now: datetime,
              lease: timedelta, table: type[Leased] = GenerationJob) -> bool:
    """Extend the lease; False when it is no longer ours."""
    return db.execute(
        sa.update(table).where(_held(table, job_id, owner))
        .values(lease_expires_at=now + lease)
        .execution_options(synchronize_session=False)
    ).rowcount == 1


def rendering(db: Session, job_id: uuid.UUID, *, owner: str,
              progress: dict[str, Any]) -> bool:
    """Replace how far the render of a generation job we hold is (one UPDATE, no log
    step); False when it is no longer ours."""
    return db.execute(
        sa.update(GenerationJob).where(_held(GenerationJob, job_id, owner))
        .values(progress=progress).execution_options(synchronize_session=False)
    ).rowcount == 1


def progress(db: Session, job_id: uuid.UUID, *, owner: str, now: datetime, step: str,
             message: str, table: type[Leased] = GenerationJob, **values: Any) -> bool:
    """Add a step to the log of a job we hold (and set ``values``); False when it is no
    longer ours."""
    where = _held(table, job_id, owner)
    log = db.scalar(sa.select(table.log).where(where).with_for_update())
    if log is None:
        return False
    return db.execute(
        sa.update(table).where(where)
        .values(log=[*log, log_entry(now, step, message)], updated_at=now, **values)
        .execution_options(synchronize_session=False)
    ).rowcount == 1


def complete(db: Session, job_id: uuid.UUID, *, owner: str, now: datetime, key: str,
             size: int, sha256: str, files: int, total_bytes: int,
             template_files: int | None = None) -> bool:
    """Mark the job completed with its artifact (and its progress at the end: every one
    of the ``template_files``); False when the lease was lost (someone else runs or ran
    it: the caller deletes its artifact). The worker records the project it made in the
    same transaction (:func:`launchpad_worker.runner.complete`)."""
    noun = "file" if files == 1 else "files"
    step = log_entry(now, "completed", f"{files} {noun}, {total_bytes} bytes; archive of "
                    f"{size} bytes ready", files=files, bytes=total_bytes)
    completed = finish(db, job_id, owner=owner, now=now, step=step, status=JobStatus.COMPLETED,
                       event=(EventKind.JOB_COMPLETED, "Your project is ready to download."),
                       artifact_key=key, artifact_size=size, artifact_sha256=sha256,
                       progress=None if template_files is None else progress_of(
                           template_files, template_files, None, total_bytes))
    return completed


def fail(db: Session, job_id: uuid.UUID, *, owner: str | None, now: datetime,
         reason: str, table: type[Leased] = GenerationJob) -> bool:
    """Mark the job failed for ``reason`` (plain words) as its lease holder or, with
    ``owner=None``, as the sweeper taking an abandoned job; False when that lost."""
    return finish(db, job_id, owner=owner, now=now, step=log_entry(now, "failed", reason),
                  status=JobStatus.FAILED, table=table, error=reason,
                  event=(EventKind.JOB_FAILED, f"{table.FAILED}: {reason}"))


def finish(db: Session, job_id: uuid.UUID, *, owner: str | None, now: datetime,
           step: dict[str, Any], status: JobStatus, event: tuple[EventKind, str],
           table: type[Leased] = GenerationJob, **values: Any) -> bool:
    """The finishing update to ``status`` with the log's last ``step``, and the in-app
    ``event`` (kind, message) for the job's user; False when it was not ours to finish."""
    if owner is not None:
        where = _held(table, job_id, owner)
    else:
        where = sa.and_(table.id == job_id, table.status.in_(ACTIVE),
                        sa.or_(table.lease_expires_at.is_(None), table.lease_expires_at < now))
    event_job = sa.null() if table.EVENT_JOB is None else getattr(table, table.EVENT_JOB)
    row = db.execute(sa.select(table.log, table.user_id, event_job)
                     .where(where).with_for_update()).first()
    if row is None:
        return False
    done = db.execute(
        sa.update(table).where(where)
        .values(log=[*row.log, step], lease_owner=None, lease_expires_at=None, finished_at=now,
                updated_at=now, status=status, **values)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if done:  # a plain INSERT: the ORM's flush of one new object costs more than the rest
        db.execute(sa.insert(Event).values(user_id=row[1], job_id=row[2], kind=event[0],
                                           message=event[1], created_at=now))
    return done


def retry(db: Session, job_id: uuid.UUID, *, owner: str, now: datetime, message: str,
          table: type[Leased] = GenerationJob) -> bool:
    """Give the job back (pending, no lease) for another attempt, its holder saying why;
    False when it was no longer ours."""
    return _to_pending(db, _held(table, job_id, owner), table, now, message)


def release(db: Session, job_id: uuid.UUID, *, now: datetime, message: str,
            table: type[Leased] = GenerationJob) -> bool:
    """Put a job whose lease expired back to pending (the sweeper, before re-enqueueing)."""
    where = sa.and_(table.id == job_id, table.status == JobStatus.PROCESSING,
                    table.lease_expires_at < now)
    return _to_pending(db, where, table, now, message)


def _to_pending(db: Session, where: sa.ColumnElement[bool], table: type[Leased],
                now: datetime, message: str) -> bool:
    log = db.scalar(sa.select(table.log).where(where).with_for_update())
    if log is None:
        return False
    return db.execute(
        sa.update(table).where(where)
        .values(status=JobStatus.PENDING, lease_owner=None, lease_expires_at=None,
                updated_at=now, log=[*log, log_entry(now, "retrying", message)])
        .execution_options(synchronize_session=False)
    ).rowcount == 1
