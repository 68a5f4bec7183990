"""Liveness and readiness of ``launchpad worker``, on a small HTTP port of its own.

* ``GET /livez``: the consumer is turning: its main loop ran within
  ``LOOP_SECONDS``, every worker thread is alive and each took its last job or
  looked at the queue within the longest a job may run (``wall_seconds``) plus
  the longest idle poll and a margin. 503 otherwise: restart the process.
* ``GET /readyz``: what a job needs answers: the database, at the schema
  revision this code expects, and the queue's storage. 503 otherwise: take no
  traffic, but do not restart (the dependency is the one to fix).

Both answer JSON (``{"status": "ok" | "stalled" | "unready", "checks": {...}}``).
The port is off unless ``LAUNCHPAD_WORKER_PROBE_PORT`` (or ``--probe-port``) is
set; it listens on ``LAUNCHPAD_WORKER_PROBE_HOST`` (127.0.0.1; ``0.0.0.0`` in a
container, for the orchestrator).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import falcon
import sqlalchemy as sa
from huey.consumer import Consumer, Worker
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger("launchpad_worker.probes")

#: The consumer's main loop wakes every 0.1 s; silent this long, it is stuck.
LOOP_SECONDS = 30.0
#: Beyond a job's wall-clock limit and the longest idle poll (Huey's 10 s).
WORKER_MARGIN_SECONDS = 40.0


class TurningWorker(Worker):
    """Huey's worker, noting when it last turned (took a job or polled the queue)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.turned = time.monotonic()

    def loop(self, now: Any = None) -> None:
        self.turned = time.monotonic()
        try:
            super().loop(now)
        finally:
            self.turned = time.monotonic()


class Liveness:
    def __init__(self, consumer: Consumer, *, job_seconds: float):
        self.consumer = consumer
        self.job_seconds = job_seconds

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        now = time.monotonic()
        checks = {
            "loop": now - getattr(self.consumer, "turned", now) <= LOOP_SECONDS,
            "scheduler": self.consumer.scheduler.is_alive(),
        }
        allowed = self.job_seconds + WORKER_MARGIN_SECONDS
        for index, (worker, thread) in enumerate(self.consumer.worker_threads, 1):
            checks[f"worker-{index}"] = thread.is_alive() and (
                now - getattr(worker, "turned", now) <= allowed)
        _answer(resp, checks, failing="stalled")


class Readiness:
    def __init__(self, engine: sa.Engine, *, expected_revision: str | None,
                 queue_pending: Callable[[], int]):
        self.engine = engine
        self.expected_revision = expected_revision
        self.queue_pending = queue_pending

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        from launchpad_web.migrate import current_revision

        checks: dict[str, bool] = {}
        try:
            with self.engine.connect() as connection:
                checks["database"] = current_revision(connection) == self.expected_revision
        except SQLAlchemyError as exc:
            log.warning("probe: database unreachable: %s", exc.__class__.__name__)
            checks["database"] = False
        try:
            self.queue_pending()
            checks["queue"] = True
        except Exception as exc:  # redis, sqlite3: whatever the storage raises
            log.warning("probe: queue unreachable: %s", exc.__class__.__name__)
            checks["queue"] = False
        _answer(resp, checks, failing="unready")


def _answer(resp: falcon.Response, checks: dict[str, bool], *, failing: str) -> None:
    healthy = all(checks.values())
    resp.status = falcon.HTTP_200 if healthy else falcon.HTTP_503
    resp.media = {"status": "ok" if healthy else failing,
                  "checks": {name: "ok" if ok else "failing" for name, ok in checks.items()}}
    resp.cache_control = ["no-store"]


def probe_app(liveness: Liveness, readiness: Readiness) -> falcon.App:
    app = falcon.App()
    app.add_route("/livez", liveness)
    app.add_route("/readyz", readiness)
    return app


def serve_probes(app: falcon.App, *, host: str, port: int) -> Any:
    """Serve ``app`` on a daemon thread (two waitress threads); the server, to close."""
    import waitress

    server = waitress.create_server(app, host=host, port=port, threads=2, ident="launchpad")
    threading.Thread(target=server.run, name="launchpad-probes", daemon=True).start()
    return server
