"""Prometheus metrics of the API and the workers (the official ``prometheus-client``).

What a process counts as it works:

* ``launchpad_http_requests_total`` / ``launchpad_http_request_seconds``: by method,
  route template (``/api/templates/{template_id}``, never the raw path: bounded
  label values) and status;
* ``launchpad_evaluations_total`` / ``launchpad_evaluation_seconds``: template code
  run through the evaluator, by kind (check, answers, preview) and outcome (``ok``,
  a limit's code, ``busy``, ``owner_busy``, a problem's ``invalid``);
* ``launchpad_jobs_total`` / ``launchpad_job_seconds``: jobs a worker finished, by
  outcome; ``launchpad_sweeps_total``: leases that expired, retried or failed, and
  lost queue messages re-enqueued;
* ``launchpad_cache_requests_total``: cache lookups (the template lists' tiers, the fleet
  answers), hit or miss.

What is read when scraped (:class:`StateCollector`): jobs waiting in the queue and
the age of the oldest pending job, and the database pool's connections in use.

Exposition: ``GET /metrics`` on the API (and on a worker's probe port), only with
``Authorization: Bearer $LAUNCHPAD_METRICS_TOKEN``; without that setting the route
does not exist, so metrics are never public by accident. With
``PROMETHEUS_MULTIPROC_DIR`` set (several processes of one host behind one
port), the exposition merges every process's files (prometheus-client's
multiprocess mode).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import falcon
import sqlalchemy as sa
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .errors import UnauthenticatedError

log = logging.getLogger("launchpad_web.metrics")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
JOB_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)

HTTP_REQUESTS = Counter("launchpad_http_requests", "HTTP requests answered",
                        ["method", "route", "status"])
HTTP_SECONDS = Histogram("launchpad_http_request_seconds", "HTTP request latency",
                         ["method", "route"], buckets=LATENCY_BUCKETS)
EVALUATIONS = Counter("launchpad_evaluations", "Evaluations of template code by the API",
                      ["kind", "outcome"])
EVALUATION_SECONDS = Histogram("launchpad_evaluation_seconds", "Evaluation latency",
                               ["kind"], buckets=LATENCY_BUCKETS)
JOBS = Counter("launchpad_jobs", "Generation jobs a worker finished", ["outcome"])
JOB_SECONDS = Histogram("launchpad_job_seconds", "Claim to completion of a job",
                        ["outcome"], buckets=JOB_BUCKETS)
SWEEPS = Counter("launchpad_sweeps", "What the sweeper found", ["action"])
CACHE_REQUESTS = Counter("launchpad_cache_requests", "Cache lookups (template lists, fleets)",
                         ["cache", "result"])


def route_of(req: falcon.Request) -> str:
    """The matched route template (bounded); ``unmatched`` for a 404 on no route."""
    return req.uri_template or "unmatched"


class RequestMetrics:
    """Middleware: one count and one latency observation per request."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.metrics_started = time.perf_counter()

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        route = route_of(req)
        HTTP_REQUESTS.labels(req.method, route, str(resp.status_code)).inc()
        started = req.context.get("metrics_started")
        if started is not None:
            HTTP_SECONDS.labels(req.method, route).observe(time.perf_counter() - started)


class StateCollector(Collector):
    """Read at each scrape: queue depth, oldest pending job, database pool use."""

    def __init__(self, *, engine: sa.Engine | None, pending: Callable[[], int] | None):
        self.engine = engine
        self.pending = pending

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.pending is not None:
            depth = GaugeMetricFamily("launchpad_queue_depth", "Messages waiting in the queue")
            try:
                depth.add_metric([], self.pending())
                yield depth
            except Exception as exc:  # redis, sqlite3: whatever the storage raises
                log.warning("metrics: queue unreachable: %s", exc.__class__.__name__)
        if self.engine is None:
            return
        yield from self._oldest_pending()
        pool = self.engine.pool
        if hasattr(pool, "checkedout"):
            used = GaugeMetricFamily("launchpad_db_pool_connections",
                                     "Database pool connections", labels=["state"])
            used.add_metric(["in_use"], pool.checkedout())
            used.add_metric(["idle"], pool.checkedin())
            yield used

    def _oldest_pending(self) -> Iterator[GaugeMetricFamily]:
        from .jobs.models import GenerationJob, JobStatus

        try:
            with self.engine.connect() as connection:
                oldest = connection.scalar(sa.select(sa.func.min(GenerationJob.created_at))
                                           .where(GenerationJob.status == JobStatus.PENDING))
        except sa.exc.SQLAlchemyError as exc:
            log.warning("metrics: database unreachable: %s", exc.__class__.__name__)
            return
        age = GaugeMetricFamily("launchpad_oldest_pending_job_seconds",
                                "Age of the oldest job no worker has taken (0: none)")
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        age.add_metric([], (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0)
        yield age


class MetricsResource:
    """``GET /metrics`` for a scraper holding the bearer token (its own credential:
    the authenticator leaves it alone)."""

    own_credentials = True

    def __init__(self, token: str, registry: CollectorRegistry):
        self.token = token.encode()
        self.registry = registry

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        scheme, _, given = (req.get_header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), self.token):
            raise UnauthenticatedError(
                "metrics need Authorization: Bearer $LAUNCHPAD_METRICS_TOKEN")
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = generate_latest(self.registry)
        resp.cache_control = ["no-store"]


def exposition_registry(*, engine: sa.Engine | None, pending: Callable[[], int] | None,
                        multiprocess: bool = False) -> CollectorRegistry:
    """What ``/metrics`` shows: this process's metrics (or, ``multiprocess``, every
    process's) and the state read at scrape time."""
    if multiprocess:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Delegate(REGISTRY))
    registry.register(StateCollector(engine=engine, pending=pending))
    return registry


class _Delegate(Collector):
    """The process's default registry, inside another registry."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self) -> Iterator[Any]:
        return iter(self.registry.collect())
