"""``GET /api/health``: is the database reachable and its schema current, does the job
queue answer, which billing provider runs (``free`` says paid plans are off), which
forges one can sign in with (off without encryption keys)."""

from __future__ import annotations

import logging

import attrs
import falcon
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .converter import unstructure
from .forges.services import ForgeService
from .jobs.queue import Queue
from .migrate import current_revision
from .openapi import operation

log = logging.getLogger("launchpad_web.health")


@attrs.frozen
class DatabaseHealth:
    status: str  # ok | outdated | unreachable
    backend: str
    revision: str | None
    expected_revision: str | None


@attrs.frozen
class QueueHealth:
    status: str  # ok | unreachable
    backend: str  # redis | sqlite | memory
    pending: int | None  # messages waiting for a worker


def queue_health(queue: Queue) -> QueueHealth:
    try:
        pending = queue.pending()
    except Exception as exc:  # redis, sqlite3: whatever the storage raises
        log.warning("queue unreachable: %s", exc.__class__.__name__)
        return QueueHealth("unreachable", queue.backend, None)
    return QueueHealth("ok", queue.backend, pending)


@attrs.frozen
class BillingHealth:
    provider: str  # ``free``: no billing provider (paid plans unavailable)
    plans_enforced: bool  # false: a self-hosted service, every feature on


@attrs.frozen
class ForgesHealth:
    enabled: bool  # false: no LAUNCHPAD_ENCRYPTION_KEYS, no forge sign-in
    forges: tuple[str, ...]  # the forges one can sign in with
    detail: str | None = None


def forges_health(forges: ForgeService | None) -> ForgesHealth:
    if forges is None:
        return ForgesHealth(False, (), "forge sign-in is off: LAUNCHPAD_ENCRYPTION_KEYS is "
                                       "not set")
    return ForgesHealth(True, tuple(f.name for f in forges.available()))


@attrs.frozen
class Health:
    status: str  # ok | degraded
    version: str
    database: DatabaseHealth
    queue: QueueHealth
    billing: BillingHealth
    forges: ForgesHealth


def database_health(db: Session, expected: str | None) -> DatabaseHealth:
    backend = db.get_bind().dialect.name
    try:
        revision = current_revision(db.connection())
    except SQLAlchemyError as exc:
        log.warning("database unreachable: %s", exc.__class__.__name__)
        db.rollback()
        return DatabaseHealth("unreachable", backend, None, expected)
    status = "ok" if revision == expected else "outdated"
    return DatabaseHealth(status, backend, revision, expected)


class HealthResource:
    def __init__(self, *, version: str, expected_revision: str | None, billing_provider: str,
                 queue: Queue, forges: ForgesHealth, plans_enforced: bool = True):
        self.version = version
        self.expected_revision = expected_revision
        self.billing = BillingHealth(billing_provider, plans_enforced)
        self.queue = queue
        self.forges = forges

    @operation("Health of the service and of what it depends on",
               responses={200: Health, 503: Health})
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        database = database_health(req.context.db, self.expected_revision)
        queue = queue_health(self.queue)
        status = "ok" if database.status == queue.status == "ok" else "degraded"
        health = Health(status, self.version, database, queue, self.billing, self.forges)
        resp.status = 200 if status == "ok" else 503
        resp.media = unstructure(health)
