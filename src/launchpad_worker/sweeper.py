"""The periodic sweep: stalled jobs back in the queue, expired and orphaned artifacts removed.

It runs on every consumer (a Huey periodic task); every change it makes is a
compare-and-set on the job row, so sweeps running at once on several machines
do each thing once. What it does:

* a job whose lease expired (its worker was killed or lost) goes back to
  pending and is enqueued again, or fails once it used every attempt;
* a job pending for longer than a lease (its queue message was lost, say the
  Redis server restarted) is enqueued again; duplicates are harmless, since only
  one worker can take the lease;
* artifacts older than the retention period, of deleted templates, or that no
  job row names (a deleted account's, a worker's that lost its lease) are deleted,
  in every format;
* staging folders no render can still be writing (untouched for longer than a
  render may last plus two leases: their worker was killed) are removed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta

import attrs
import sqlalchemy as sa

from launchpad_web.jobs import leases
from launchpad_web.jobs.models import EventKind, GenerationJob, JobStatus

from .context import WorkerContext
from .runner import notify

log = logging.getLogger("launchpad_worker.sweeper")

Enqueue = Callable[[uuid.UUID], None]
BATCH = 1000  # artifact keys per query


@attrs.frozen
class SweepReport:
    retried: tuple[uuid.UUID, ...] = ()
    failed: tuple[uuid.UUID, ...] = ()
    requeued: tuple[uuid.UUID, ...] = ()
    deleted_artifacts: tuple[str, ...] = ()
    purged_staging: tuple[str, ...] = ()


def sweep(ctx: WorkerContext, enqueue: Enqueue) -> SweepReport:
    retried, failed = _expired_leases(ctx, enqueue)
    report = SweepReport(retried=retried, failed=failed, requeued=_stale_pending(ctx, enqueue),
                         deleted_artifacts=(*_expired_artifacts(ctx), *_orphans(ctx)),
                         purged_staging=tuple(_stale_staging(ctx)))
    if any(attrs.astuple(report)):
        log.info("sweep", extra={k: len(v) for k, v in attrs.asdict(report).items()})
    return report


def _expired_leases(ctx: WorkerContext, enqueue: Enqueue) -> tuple[tuple[uuid.UUID, ...], ...]:
    now = ctx.clock()
    with ctx.session() as db:
        rows = db.execute(sa.select(GenerationJob.id, GenerationJob.attempts).where(
            GenerationJob.status == JobStatus.PROCESSING,
            GenerationJob.lease_expires_at < now)).all()
    retried, failed = [], []
    for job_id, attempts in rows:
        if attempts >= ctx.jobs.max_attempts:
            reason = (f"the job was interrupted {attempts} times (its worker stopped "
                      "responding); giving up")
            with ctx.session() as db:
                done = leases.fail(db, job_id, owner=None, now=now, reason=reason)
            if done:
                failed.append(job_id)
                notify(ctx, job_id, EventKind.JOB_FAILED, f"It failed: {reason}")
            continue
        with ctx.session() as db:
            released = leases.release(db, job_id, now=now,
                                      message="the worker stopped responding; trying again")
        if released:
            retried.append(job_id)
            enqueue(job_id)
    return tuple(retried), tuple(failed)


def _stale_pending(ctx: WorkerContext, enqueue: Enqueue) -> tuple[uuid.UUID, ...]:
    now = ctx.clock()
    requeued = []
    with ctx.session() as db:
        stale = db.execute(sa.select(GenerationJob.id, GenerationJob.updated_at).where(
            GenerationJob.status == JobStatus.PENDING,
            GenerationJob.updated_at < now - ctx.jobs.lease)).all()
        for job_id, updated_at in stale:
            touched = db.execute(
                sa.update(GenerationJob)
                .where(GenerationJob.id == job_id, GenerationJob.updated_at == updated_at,
                       GenerationJob.status == JobStatus.PENDING)
                .values(updated_at=now).execution_options(synchronize_session=False)).rowcount
            if touched:
                requeued.append(job_id)
    for job_id in requeued:
        enqueue(job_id)
    return tuple(requeued)


def _expired_artifacts(ctx: WorkerContext) -> list[str]:
    """Artifacts past retention, and those of deleted templates."""
    now = ctx.clock()
    with ctx.session() as db:
        rows = db.execute(sa.select(GenerationJob.id, GenerationJob.artifact_path).where(
            GenerationJob.artifact_path.is_not(None),
            sa.or_(GenerationJob.finished_at < now - ctx.jobs.retention,
                   GenerationJob.template_id.is_(None)))).all()
        for job_id, path in rows:
            db.execute(sa.update(GenerationJob)
                       .where(GenerationJob.id == job_id, GenerationJob.artifact_path == path)
                       .values(artifact_path=None).execution_options(synchronize_session=False))
    for _, path in rows:
        ctx.storage.delete(path)
    return [path for _, path in rows]


def _orphans(ctx: WorkerContext) -> list[str]:
    """Stored artifacts no job row names, written more than two leases ago (a worker
    between writing its artifact and completing its job is never disturbed)."""
    cutoff = ctx.clock() - 2 * ctx.jobs.lease
    old = [key for key, written in ctx.storage.listing() if written < cutoff]
    if not old:
        return []
    named: set[str] = set()
    with ctx.session() as db:
        for start in range(0, len(old), BATCH):
            named.update(db.scalars(sa.select(GenerationJob.artifact_path).where(
                GenerationJob.artifact_path.in_(old[start:start + BATCH]))))
    orphans = [key for key in old if key not in named]
    for key in orphans:
        ctx.storage.delete(key)
    return orphans


def _stale_staging(ctx: WorkerContext) -> list[str]:
    """Staging folders of renders that cannot be running any more."""
    render = timedelta(seconds=ctx.jobs.wall_seconds)
    return ctx.storage.purge_staging(ctx.clock() - render - 2 * ctx.jobs.lease)
