"""The Huey instance, built from settings, and the thin tasks that call the runner.

* ``LAUNCHPAD_REDIS_URL`` set: :class:`~huey.RedisHuey`, consumed by any number of
  ``launchpad worker`` processes on any number of machines;
* otherwise :class:`~huey.SqliteHuey` in ``DATA_DIR/queue.sqlite3``, consumed by
  the consumer ``launchpad serve`` embeds;
* ``jobs.immediate`` (tests): Huey's immediate mode, jobs run inside the request.

Secret answers travel only in the task's payload (Huey's storage keeps it until
a worker takes the message); the job row holds them redacted. A job re-enqueued
by the sweeper has lost them and fails asking to be submitted again.
"""

from __future__ import annotations

import contextlib
import functools
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer, Scheduler

from launchpad_web.metrics import SWEEPS
from launchpad_web.settings import WebSettings

from .context import WorkerContext
from .importing import ImportRunner
from .preload import use_preload
from .probes import TurningWorker
from .publish import PublishRunner
from .runner import JobRunner
from .sweeper import SweepReport, sweep
from .update import UpdateRunner

NAME = "launchpad"
PUBLISH_RETRY_SECONDS = 10  # a forge that failed gets this long before the next attempt
#: How soon an idle consumer of the SQLite queue looks again (first, at most): a job waits
#: at most a quarter of a second for it, for a few small queries a second.
POLL_SECONDS = (0.05, 0.25)


def make_huey(settings: WebSettings) -> Huey:
    if settings.jobs.immediate:
        return MemoryHuey(NAME, immediate=True, results=False)
    if settings.redis_url:
        return RedisHuey(NAME, url=settings.redis_url, results=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(NAME, filename=str(settings.data_dir / "queue.sqlite3"), results=False)


def _always(_now: datetime) -> bool:
    return True


class JobQueue:
    """The queue of generation jobs: ``enqueue`` from the API, the tasks for consumers."""

    def __init__(self, huey: Huey, context: WorkerContext):
        self.huey = huey
        self.context = context
        self.run_job = huey.task(name="launchpad.run_job")(JobRunner(context).run)
        self.run_publish = huey.task(name="launchpad.publish")(
            PublishRunner(context, functools.partial(self._retry, "run_publish")).run)
        self.run_import = huey.task(name="launchpad.import")(
            ImportRunner(context, functools.partial(self._retry, "run_import")).run)
        updater = UpdateRunner(context, functools.partial(self._retry, "run_update"))
        self.run_update = huey.task(name="launchpad.update")(updater.run)
        self.run_check = huey.task(name="launchpad.check_update")(updater.check)
        self.sweep_task = huey.periodic_task(_always, name="launchpad.sweep")(self.sweep)

    @classmethod
    def from_settings(cls, settings: WebSettings, context: WorkerContext) -> JobQueue:
        return cls(make_huey(settings), context)

    @property
    def backend(self) -> str:
        """``redis``, ``sqlite`` or ``memory`` (tests)."""
        return {RedisHuey: "redis", SqliteHuey: "sqlite"}.get(type(self.huey), "memory")

    def pending(self) -> int:
        """Messages waiting in the queue; raises when the queue's storage is unreachable."""
        return self.huey.pending_count()

    def enqueue(self, job_id: uuid.UUID, secret_answers: Mapping[str, Any] | None = None) -> None:
        self.run_job(str(job_id), dict(secret_answers or {}))

    def enqueue_publish(self, publish_id: uuid.UUID) -> None:
        self.run_publish(str(publish_id))

    def enqueue_import(self, import_id: uuid.UUID) -> None:
        self.run_import(str(import_id))

    def enqueue_update(self, update_id: uuid.UUID,
                       secret_answers: Mapping[str, Any] | None = None) -> None:
        self.run_update(str(update_id), dict(secret_answers or {}))

    def enqueue_check(self, project_id: uuid.UUID, target_version: int) -> None:
        """Queue the fleet's "would it conflict" check of a project (see the sweep)."""
        self.run_check(str(project_id), target_version)

    def _retry(self, task: str, job_id: uuid.UUID, secret_answers: Mapping[str, Any]) -> None:
        """A publish, import or update job given back after a forge failed: its ``task``
        queued again after a pause (at once in immediate mode, which has no schedule)."""
        run = getattr(self, task)
        args = (str(job_id), dict(secret_answers))
        if self.huey.immediate:
            run(*args)
        else:
            run.schedule(args=args, delay=PUBLISH_RETRY_SECONDS)

    def sweep(self) -> SweepReport:
        report = sweep(self.context, self.enqueue, self.enqueue_publish,
                       enqueue_import=self.enqueue_import, enqueue_update=self.enqueue_update,
                       enqueue_check=self.enqueue_check)
        for action in ("retried", "failed", "requeued", "deleted_artifacts", "polled"):
            if found := getattr(report, action):
                SWEEPS.labels(action).inc(len(found))
        return report

    def consumer(self, *, workers: int | None = None, embedded: bool = False) -> Consumer:
        # Redis blocks until a message comes; the SQLite queue is polled, and Huey's
        # backoff (up to 10 s) would keep a job submitted after a quiet spell waiting.
        polled = {} if self.huey.storage.blocking else {
            "initial_delay": POLL_SECONDS[0], "max_delay": POLL_SECONDS[1]}
        return LaunchpadConsumer(self.huey, sweep_seconds=self.context.jobs.sweep_interval
                                 .total_seconds(), embedded=embedded,
                                 workers=workers or self.context.jobs.worker_threads,
                                 worker_type="thread", periodic=True,
                                 shutdown_timeout=SHUTDOWN_GRACE_SECONDS, **polled)


#: On SIGTERM, running jobs get this long to finish; a job still running then is left to
#: its lease (it expires, and a consumer re-runs the job), so a stop is never held up by
#: a long render (docker stop kills after 10 s in any case).
SHUTDOWN_GRACE_SECONDS = 8.0


class LaunchpadConsumer(Consumer):
    """Huey's consumer, running periodic tasks (the sweep) every ``sweep_seconds`` instead
    of once a minute; ``embedded`` (inside ``launchpad serve``) leaves signals to the host."""

    worker_class = TurningWorker  # notes when it last turned, for the liveness probe

    def __init__(self, huey: Huey, *, sweep_seconds: float, embedded: bool, **options: Any):
        self.sweep_seconds = sweep_seconds
        self.embedded = embedded
        self.turned = time.monotonic()
        super().__init__(huey, **options)

    def loop(self, health_check_ts: float | None = None) -> float | None:
        self.turned = time.monotonic()
        return super().loop(health_check_ts)

    def _create_scheduler(self) -> Scheduler:
        scheduler = super()._create_scheduler()
        scheduler.periodic_task_seconds = self.sweep_seconds
        return scheduler

    def _set_signal_handlers(self) -> None:
        if not self.embedded:
            super()._set_signal_handlers()


@contextlib.contextmanager
def running_consumer(queue: JobQueue, *, enabled: bool) -> Iterator[None]:
    """A consumer inside this process (``launchpad serve`` on the SQLite queue) for the
    duration of the block; stopped gracefully (running jobs finish) at its end."""
    if not enabled:
        yield
        return
    use_preload()
    consumer = queue.consumer(embedded=True)
    consumer.start()
    try:
        yield
    finally:
        consumer.stop(graceful=True)
