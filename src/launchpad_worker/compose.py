"""The composition root of the hosted service: the web app with this process's job queue
and artifact storage (``launchpad serve``, tests and benches build it here).

``launchpad_web`` knows the queue only as the protocol of
:mod:`launchpad_web.jobs.queue`; the Huey implementation and the worker context
it runs jobs with are the worker's, so they are made here and handed in.
"""

from __future__ import annotations

import falcon
from sqlalchemy.orm import sessionmaker

from launchpad_core import Launchpad, default_launchpad
from launchpad_web.app import create_app
from launchpad_web.clock import Clock, system_clock
from launchpad_web.db import make_engine, make_session_factory
from launchpad_web.settings import WebSettings

from .context import WorkerContext
from .queue import JobQueue


def service_app(
    settings: WebSettings,
    *,
    session_factory: sessionmaker | None = None,
    launchpad: Launchpad | None = None,
    clock: Clock = system_clock,
    job_queue: JobQueue | None = None,
) -> falcon.App:
    """:func:`~launchpad_web.app.create_app` with ``job_queue`` (by default the one
    ``settings`` name: Redis, or SQLite in the data directory) and its storage."""
    launchpad = launchpad or default_launchpad()
    if session_factory is None:
        engine = make_engine(settings.database_url, pool_size=settings.threads)
        session_factory = make_session_factory(engine)
    job_queue = job_queue or JobQueue.from_settings(settings, WorkerContext.from_settings(
        settings, session_factory=session_factory, launchpad=launchpad, clock=clock))
    return create_app(settings, session_factory=session_factory, launchpad=launchpad,
                      clock=clock, job_queue=job_queue, storage=job_queue.context.storage)
