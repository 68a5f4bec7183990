"""The periodic sweep: stalled jobs back in the queue, expired and orphaned artifacts removed.

It runs on every consumer (a Huey periodic task); every change it makes is a
compare-and-set on the job row, so sweeps running at once on several machines
do each thing once. What it does:

* a job whose lease expired (its worker was killed or lost) goes back to
  pending and is enqueued again, or fails once it used every attempt;
* a job pending for longer than a lease (its queue message was lost, say the
  Redis server restarted) is enqueued again; duplicates are harmless, since only
  one worker can take the lease;
* artifacts older than the retention period (update jobs' patches too), of deleted
  templates, or that no job row names (a deleted account's, a worker's that lost its
  lease) are deleted, in every format;
* projects behind their template's latest version whose fleet answer ("would updating
  conflict") is unknown get a check queued (:data:`CHECKS` per sweep; each noted
  first, so it is queued once); answers the fleet no longer reads (an older version
  than the latest, a project already there) are deleted, :data:`PRUNED_CHECKS` a sweep;
* staging folders no render can still be writing (untouched for longer than a
  render may last plus two leases: their worker was killed) are removed;
* templates that follow their repository and were not checked for ``follow_poll``
  are polled, a few per sweep (:mod:`.following`): a new release tag queues an import
  (once per tag, however it is also announced by webhook).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta

import attrs
import sqlalchemy as sa

from launchpad_web.jobs import leases
from launchpad_web.jobs.models import EventKind, GenerationJob, JobStatus, Leased
from launchpad_web.projects.models import Project, ProjectCheck
from launchpad_web.publishing.models import PublishJob
from launchpad_web.sources.models import ImportJob
from launchpad_web.templates.models import TemplateRecord
from launchpad_web.updates import checks
from launchpad_web.updates.models import UpdateJob

from .context import WorkerContext
from .following import poll_followed
from .runner import notify

log = logging.getLogger("launchpad_worker.sweeper")

Enqueue = Callable[[uuid.UUID], None]
EnqueueCheck = Callable[[uuid.UUID, int], None]
BATCH = 1000  # artifact keys per query
CHECKS = 100  # fleet checks queued per sweep
PRUNED_CHECKS = 1000  # fleet answers no longer read, deleted per sweep


@attrs.frozen
class SweepReport:
    retried: tuple[uuid.UUID, ...] = ()
    failed: tuple[uuid.UUID, ...] = ()
    requeued: tuple[uuid.UUID, ...] = ()
    deleted_artifacts: tuple[str, ...] = ()
    purged_staging: tuple[str, ...] = ()
    polled: tuple[uuid.UUID, ...] = ()
    checks: tuple[uuid.UUID, ...] = ()
    pruned_checks: tuple[uuid.UUID, ...] = ()


def sweep(ctx: WorkerContext, enqueue: Enqueue, enqueue_publish: Enqueue | None = None,
          enqueue_import: Enqueue | None = None, *, enqueue_update: Enqueue | None = None,
          enqueue_check: EnqueueCheck | None = None) -> SweepReport:
    """One sweep; publish jobs (:mod:`launchpad_web.publishing`), import jobs
    (:mod:`launchpad_web.sources`) and update jobs (:mod:`launchpad_web.updates`:
    re-enqueued without secret answers, which the job then treats as unchanged) get the
    same care as generation jobs when their ``enqueue_*`` is given; followed templates
    are polled with ``enqueue_import``, and the fleet's checks queued with
    ``enqueue_check``."""
    queues: list[tuple[type[Leased], Enqueue]] = [(GenerationJob, enqueue)]
    if enqueue_publish is not None:
        queues.append((PublishJob, enqueue_publish))
    if enqueue_import is not None:
        queues.append((ImportJob, enqueue_import))
    if enqueue_update is not None:
        queues.append((UpdateJob, enqueue_update))
    retried, failed, requeued = [], [], []
    for table, put in queues:
        again, given_up = _expired_leases(ctx, put, table)
        retried += again
        failed += given_up
        requeued += _stale_pending(ctx, put, table)
    checked = tuple(_fleet_checks(ctx, enqueue_check)) if enqueue_check else ()
    with ctx.session() as db:
        pruned = tuple(checks.superseded(db, limit=PRUNED_CHECKS))
    report = SweepReport(retried=tuple(retried), failed=tuple(failed), requeued=tuple(requeued),
                         checks=checked, pruned_checks=pruned,
                         deleted_artifacts=(*_expired_artifacts(ctx), *_expired_updates(ctx),
                                            *_orphans(ctx)),
                         purged_staging=tuple(_stale_staging(ctx)),
                         polled=tuple(poll_followed(ctx, enqueue_import)
                                      if enqueue_import is not None else ()))
    if any(attrs.astuple(report)):
        log.info("sweep", extra={k: len(v) for k, v in attrs.asdict(report).items()})
    return report


def _expired_leases(ctx: WorkerContext, enqueue: Enqueue,
                    table: type[Leased]) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    now = ctx.clock()
    with ctx.session() as db:
        rows = db.execute(sa.select(table.id, table.attempts).where(
            table.status == JobStatus.PROCESSING, table.lease_expires_at < now)).all()
    retried, failed = [], []
    for job_id, attempts in rows:
        if attempts >= ctx.jobs.max_attempts:
            reason = (f"the job was interrupted {attempts} times (its worker stopped "
                      "responding); giving up")
            with ctx.session() as db:
                done = leases.fail(db, job_id, owner=None, now=now, reason=reason, table=table)
            if done:
                failed.append(job_id)
                notify(ctx, job_id, EventKind.JOB_FAILED, f"It failed: {reason}")
            continue
        with ctx.session() as db:
            released = leases.release(db, job_id, now=now, table=table,
                                      message="the worker stopped responding; trying again")
        if released:
            retried.append(job_id)
            enqueue(job_id)
    return retried, failed


def _stale_pending(ctx: WorkerContext, enqueue: Enqueue,
                   table: type[Leased]) -> list[uuid.UUID]:
    now = ctx.clock()
    requeued = []
    with ctx.session() as db:
        stale = db.execute(sa.select(table.id, table.updated_at).where(
            table.status == JobStatus.PENDING, table.updated_at < now - ctx.jobs.lease)).all()
        for job_id, updated_at in stale:
            touched = db.execute(
                sa.update(table)
                .where(table.id == job_id, table.updated_at == updated_at,
                       table.status == JobStatus.PENDING)
                .values(updated_at=now).execution_options(synchronize_session=False)).rowcount
            if touched:
                requeued.append(job_id)
    for job_id in requeued:
        enqueue(job_id)
    return requeued


def _expired_artifacts(ctx: WorkerContext) -> list[str]:
    """Artifacts past retention, and those of deleted templates."""
    now = ctx.clock()
    with ctx.session() as db:
        rows = db.execute(sa.select(GenerationJob.id, GenerationJob.artifact_key).where(
            GenerationJob.artifact_key.is_not(None),
            sa.or_(GenerationJob.finished_at < now - ctx.jobs.retention,
                   GenerationJob.template_id.is_(None)))).all()
        for job_id, path in rows:
            db.execute(sa.update(GenerationJob)
                       .where(GenerationJob.id == job_id, GenerationJob.artifact_key == path)
                       .values(artifact_key=None).execution_options(synchronize_session=False))
    for _, path in rows:
        ctx.storage.delete(path)
    return [path for _, path in rows]


def _expired_updates(ctx: WorkerContext) -> list[str]:
    """Update jobs' patches and conflicts past retention (the job row stays)."""
    cutoff = ctx.clock() - ctx.jobs.retention
    with ctx.session() as db:
        rows = db.execute(sa.select(UpdateJob.id, UpdateJob.artifact_key).where(
            UpdateJob.artifact_key.is_not(None), UpdateJob.finished_at < cutoff)).all()
        for job_id, path in rows:
            db.execute(sa.update(UpdateJob)
                       .where(UpdateJob.id == job_id, UpdateJob.artifact_key == path)
                       .values(artifact_key=None).execution_options(synchronize_session=False))
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
            for table in (GenerationJob, UpdateJob):  # archives, and updates' patches
                named.update(db.scalars(sa.select(table.artifact_key).where(
                    table.artifact_key.in_(old[start:start + BATCH]))))
    orphans = [key for key in old if key not in named]
    for key in orphans:
        ctx.storage.delete(key)
    return orphans


def _fleet_checks(ctx: WorkerContext, enqueue: EnqueueCheck) -> list[uuid.UUID]:
    """Queue a check of projects behind their template's latest version without an answer
    for it (noted first: :func:`launchpad_web.updates.checks.claim`), and again those noted
    more than two leases ago that no worker answered."""
    now = ctx.clock()
    with ctx.session() as db:
        stalled = checks.stalled(db, before=now - 2 * ctx.jobs.lease, now=now, limit=CHECKS)
    answered = sa.exists().where(ProjectCheck.project_id == Project.id,
                                 ProjectCheck.target_version == TemplateRecord.version)
    with ctx.session() as db:
        found = db.execute(
            sa.select(Project.id, TemplateRecord.version)
            .join(TemplateRecord, TemplateRecord.id == Project.template_id)
            .where(Project.template_version < TemplateRecord.version, ~answered)
            .order_by(Project.created_at.desc()).limit(CHECKS)).all()
        claimed = [(p, v) for p, v in found if checks.claim(db, p, v, now=now)]
    claimed += stalled
    for project_id, version in claimed:
        enqueue(project_id, version)
    return [project_id for project_id, _ in claimed]


def _stale_staging(ctx: WorkerContext) -> list[str]:
    """Staging folders of renders that cannot be running any more."""
    render = timedelta(seconds=ctx.jobs.wall_seconds)
    return ctx.storage.purge_staging(ctx.clock() - render - 2 * ctx.jobs.lease)
