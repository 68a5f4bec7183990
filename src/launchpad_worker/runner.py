"""One job, start to end: lease, isolated render, artifact, completion, notification.

The render child writes the zip into a staging folder of the artifact
storage; the runner moves it into storage, then completes the job. The
staging folder goes when the render ends, whatever happened; the sweeper
removes those of a worker that was killed.

A render failure the template causes (bad answers, a sandbox refusal, a CPU,
memory or time limit) fails the job at once with the reason in plain words. Any
other error (database, disk) leaves the lease to expire, and the sweeper gives
the job to another attempt, up to the maximum.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from launchpad_core import LaunchpadError
from launchpad_core.isolation.children import run_isolated
from launchpad_web.accounts.models import User
from launchpad_web.jobs import leases
from launchpad_web.jobs.archives import FORMATS
from launchpad_web.jobs.models import EventKind, GenerationJob, Leased
from launchpad_web.jobs.settings import MIB, JobSettings
from launchpad_web.jobs.storage import artifact_key
from launchpad_web.metrics import JOB_SECONDS, JOBS
from launchpad_web.projects.records import record as record_project

from .context import WorkerContext
from .render import ProgressFile, read_progress, render_archive

log = logging.getLogger("launchpad_worker.runner")

CACHED_DEFINITIONS = 32
PROGRESS_FILE = "progress.json"  # in the render's staging folder
SUBJECTS = {
    EventKind.JOB_COMPLETED: "Your project is ready",
    EventKind.JOB_FAILED: "Your project could not be made",
}


def failure_reason(exc: LaunchpadError, jobs: JobSettings) -> str:
    """What went wrong, for the person who asked."""
    match exc.code:
        case "cpu_limit":
            return (f"the template needed more than {jobs.cpu_seconds} seconds of CPU time "
                    "and was stopped")
        case "memory_limit":
            return (f"the template needed more than {jobs.memory_bytes // MIB} MiB of memory "
                    "and was stopped")
        case "timeout":
            return f"the template took longer than {jobs.wall_seconds} seconds and was stopped"
    return str(exc)


class TransientError(LaunchpadError):
    """A forge or its git server is down: another attempt of the job may succeed
    (publish, import and update jobs: :func:`retry_or_fail`)."""

    code = "job_transient"


def lease_owner(token: str | None = None) -> str:
    """Who holds a lease: this host, process and attempt (``token``, else a new one)."""
    return f"{socket.gethostname()[:100]}/{os.getpid()}/{token or secrets.token_hex(8)}"


def retry_or_fail(ctx: WorkerContext, table: type[Leased], job: uuid.UUID, *, owner: str,
                  attempt: int, reason: str, again: str) -> bool:
    """After a :class:`TransientError`: give the job back for another attempt (True: the
    caller queues it again), or fail it once its attempts are spent, saying how often it
    was tried and what the person can do (``again``, e.g. "publish again later")."""
    with ctx.session() as db:
        if attempt >= ctx.jobs.max_attempts:
            leases.fail(db, job, owner=owner, now=ctx.clock(), table=table,
                        reason=f"{reason} (tried {attempt} times; {again})")
            return False
        return leases.retry(db, job, owner=owner, now=ctx.clock(), table=table,
                            message=f"{reason}; trying again")


class _Planned(Protocol):
    id: uuid.UUID
    attempt: int


PlanT = TypeVar("PlanT", bound=_Planned)
#: Queues a job given back again (after a pause), with its secret answers.
Requeue = Callable[[uuid.UUID, Mapping[str, Any]], None]
ResultT = TypeVar("ResultT")


class LeasedRunner(Generic[PlanT, ResultT]):
    """The run of a publish, import or update job, which may be tried again: take the
    lease, read the plan, make one attempt under a :func:`heartbeat`, then
    :meth:`finish`; the attempt's own failure (``failure``) fails the job, a
    :class:`TransientError` gives it back for another attempt (:func:`retry_or_fail`).
    Each kind says what differs: its table, its plan, its attempt and its finish."""

    table: ClassVar[type[Leased]]
    failure: ClassVar[type[LaunchpadError]]
    #: What the person can do when the attempts are spent, e.g. "publish again later".
    again: ClassVar[str]

    def __init__(self, context: WorkerContext, requeue: Requeue):
        self.context = context
        self.requeue = requeue

    def run(self, job_id: str, secret_answers: Mapping[str, Any] | None = None) -> None:
        """Run job ``job_id`` if nobody holds it; the Huey task calls this."""
        ctx = self.context
        owner = lease_owner()
        job = uuid.UUID(job_id)
        with ctx.session() as db:
            row = leases.take(db, self.table, job, owner=owner, now=ctx.clock(),
                              lease=ctx.jobs.lease, max_attempts=ctx.jobs.max_attempts)
            plan = self.plan(db, row) if row is not None else None
        if plan is None:
            return
        given = dict(secret_answers or {})
        with heartbeat(ctx, job, owner, self.table):
            try:
                result = self.attempt(plan, owner, given)
            except self.failure as exc:
                self.fail(job, owner, exc.message)
                return
            except TransientError as exc:
                if retry_or_fail(ctx, self.table, plan.id, owner=owner, attempt=plan.attempt,
                                 reason=exc.message, again=self.again):
                    self.requeue(plan.id, given)
                return
        self.finish(plan, owner, result)

    def plan(self, db: Session, row: Any) -> PlanT | None:
        raise NotImplementedError

    def attempt(self, plan: PlanT, owner: str, secret_answers: Mapping[str, Any]) -> ResultT:
        raise NotImplementedError

    def finish(self, plan: PlanT, owner: str, result: ResultT) -> None:
        raise NotImplementedError

    def fail(self, job: uuid.UUID, owner: str, reason: str) -> None:
        with self.context.session() as db:
            leases.fail(db, job, owner=owner, now=self.context.clock(), reason=reason,
                        table=self.table)


def complete(db: Session, job: uuid.UUID, *, owner: str, now: datetime, **stored: Any) -> bool:
    """:func:`launchpad_web.jobs.leases.complete` and, in the same transaction, the project
    the job made (:mod:`launchpad_web.projects.records`): recorded once, by the worker that
    won the job, or not at all."""
    won = leases.complete(db, job, owner=owner, now=now, **stored)
    if won:
        record_project(db, job, now=now)
    return won


class JobRunner:
    def __init__(self, context: WorkerContext):
        self.context = context
        self.definitions: dict[tuple[uuid.UUID, int], dict[str, Any]] = {}
        self.lock = threading.Lock()

    def run(self, job_id: str, secret_answers: Mapping[str, Any] | None = None) -> None:
        """Run job ``job_id`` if nobody holds it; the Huey task calls this. Counted in
        ``launchpad_jobs_total`` and ``launchpad_job_seconds`` by outcome."""
        started, outcome = time.perf_counter(), "crashed"
        try:
            outcome = self._run(job_id, secret_answers)
        finally:
            if outcome != "skipped":
                JOBS.labels(outcome).inc()
                JOB_SECONDS.labels(outcome).observe(time.perf_counter() - started)

    def _run(self, job_id: str, secret_answers: Mapping[str, Any] | None) -> str:
        """The outcome: skipped (held elsewhere, or done), failed, lease_lost, completed."""
        ctx = self.context
        token = secrets.token_hex(8)
        owner = lease_owner(token)
        job = uuid.UUID(job_id)
        with ctx.session() as db:
            claim = leases.claim(db, job, owner=owner, now=ctx.clock(), lease=ctx.jobs.lease,
                                 max_attempts=ctx.jobs.max_attempts)
        if claim is None:
            return "skipped"
        definition = self._definition(claim)
        if definition is None:
            self._fail(job, owner, "the template was deleted", claim.email)
            return "failed"
        with ctx.storage.staging() as staging, heartbeat(
                ctx, job, owner, progress=staging / PROGRESS_FILE):
            # The zip alone: other formats are made from it when first downloaded.
            targets = {FORMATS[0]: staging / f"artifact.{FORMATS[0]}"}
            reports = ProgressFile(str(staging / PROGRESS_FILE),
                                   ctx.jobs.progress_interval.total_seconds())
            try:
                result = run_isolated(
                    render_archive, definition, claim.answers, dict(secret_answers or {}),
                    {fmt: str(path) for fmt, path in targets.items()},
                    cache=ctx.compiled_cache, progress=reports, limits=ctx.limits)
            except LaunchpadError as exc:
                self._fail(job, owner, failure_reason(exc, ctx.jobs), claim.email)
                return "failed"
            stored = ctx.storage.save(artifact_key(job, token), targets)
        with ctx.session() as db:
            won = complete(db, job, owner=owner, now=ctx.clock(), key=stored.key,
                           size=stored.size, sha256=stored.sha256, files=result.files,
                           total_bytes=result.total_bytes, template_files=result.template_files)
        if not won:
            log.warning("lease lost before completion; artifact discarded",
                        extra={"job_id": str(job)})
            ctx.storage.delete(stored.key)
            return "lease_lost"
        notify(ctx, job, EventKind.JOB_COMPLETED, "Your project is ready to download.",
               email=claim.email)
        return "completed"

    def _definition(self, claim: leases.Claim) -> dict[str, Any] | None:
        """The definition of the job's template version (versions never change: kept)."""
        if claim.template_id is None or claim.template_version is None:
            return None
        key = (claim.template_id, claim.template_version)
        with self.lock:
            definition = self.definitions.get(key)
        if definition is None:
            with self.context.session() as db:
                definition = leases.definition(db, *key)
            if definition is not None:
                with self.lock:
                    self.definitions[key] = definition
                    while len(self.definitions) > CACHED_DEFINITIONS:
                        self.definitions.pop(next(iter(self.definitions)))
        return definition

    def _fail(self, job: uuid.UUID, owner: str, reason: str, email: str | None) -> None:
        with self.context.session() as db:
            failed = leases.fail(db, job, owner=owner, now=self.context.clock(), reason=reason)
        if failed:
            notify(self.context, job, EventKind.JOB_FAILED, f"It failed: {reason}", email=email)


@contextmanager
def heartbeat(ctx: WorkerContext, job: uuid.UUID, owner: str,
              table: type[Leased] = GenerationJob, *,
              progress: Path | None = None) -> Iterator[None]:
    """Renew the job's lease every third of a lease while the block runs; with
    ``progress`` (a generation job's), store what the render child reports there when it
    changed, looked at every ``progress_interval``."""
    stop = threading.Event()
    beat = threading.Thread(target=_beat, args=(ctx, job, owner, table),
                            kwargs={"stop": stop, "progress": progress},
                            daemon=True, name=f"heartbeat-{job}")
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()


def _beat(ctx: WorkerContext, job: uuid.UUID, owner: str, table: type[Leased], *,
          stop: threading.Event, progress: Path | None) -> None:
    every = ctx.jobs.lease.total_seconds() / 3
    look = ctx.jobs.progress_interval.total_seconds() if progress is not None else every
    due, shown = time.monotonic() + every, None
    while not stop.wait(min(look, max(due - time.monotonic(), 0.0))):
        if progress is not None:
            shown = _report(ctx, job, owner, progress, shown)
        if time.monotonic() < due:
            continue
        due += every
        try:
            with ctx.session() as db:
                held = leases.heartbeat(db, job, owner=owner, now=ctx.clock(),
                                        lease=ctx.jobs.lease, table=table)
        except Exception:
            log.exception("heartbeat failed", extra={"job_id": str(job)})
            continue
        if not held:
            log.warning("lease lost", extra={"job_id": str(job)})
            return


def _report(ctx: WorkerContext, job: uuid.UUID, owner: str, progress: Path,
            shown: dict[str, Any] | None) -> dict[str, Any] | None:
    """Store the child's latest report when it is new; the report now stored."""
    latest = read_progress(progress)
    if latest is None or latest == shown:
        return shown
    try:
        with ctx.session() as db:
            leases.rendering(db, job, owner=owner, progress=latest)
    except Exception:
        log.exception("progress not stored", extra={"job_id": str(job)})
        return shown
    return latest


def notify(ctx: WorkerContext, job: uuid.UUID, kind: EventKind, message: str, *,
           email: str | None = None) -> None:
    """Tell the job's owner (``email``, else looked up) through the ``launchpad_notify``
    hook (email ...); the in-app event is already stored with the job's new state. Never
    fails the job."""
    try:
        if email is None:
            with ctx.session() as db:
                email = db.scalar(sa.select(User.email).join(
                    GenerationJob, GenerationJob.user_id == User.id).where(
                    GenerationJob.id == job))
        if email is None:
            return
        ctx.hooks.notify(kind=kind.value, recipient=email, subject=SUBJECTS[kind],
                         message=f"{message}\n\n{ctx.public_url}/api/generate/{job}\n",
                         settings=ctx.jobs.smtp.as_mapping())
    except Exception:
        log.exception("notification failed", extra={"job_id": str(job)})
