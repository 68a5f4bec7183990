"""``launchpad worker``: a consumer of the job queue, added through the core's
``launchpad_register_commands`` hook (entry point ``worker`` in group ``launchpad``).

Every ``launchpad`` command loads this module, so the worker's stack is imported
only inside the handler.
"""

from __future__ import annotations

import argparse
import sys

from launchpad_core import hookimpl


@hookimpl
def launchpad_register_commands(subparsers: argparse._SubParsersAction) -> None:
    worker = subparsers.add_parser(
        "worker", help="run generation jobs from the queue (LAUNCHPAD_REDIS_URL, or the "
                       "SQLite queue in the data directory)")
    worker.add_argument("--threads", type=int,
                        help="jobs run at once (LAUNCHPAD_WORKER_THREADS, 2)")
    worker.add_argument("--probe-port", type=int,
                        help="answer /livez and /readyz on this port "
                             "(LAUNCHPAD_WORKER_PROBE_PORT; off by default)")
    worker.set_defaults(handler=_worker)


def _worker(args: argparse.Namespace) -> int:
    from launchpad_web.db import make_engine
    from launchpad_web.logs import configure_logging
    from launchpad_web.migrate import head_revision, require_current
    from launchpad_web.settings import WebSettings

    from .context import WorkerContext
    from .preload import use_preload
    from .queue import JobQueue

    settings = WebSettings.from_env()
    configure_logging(settings.log_level)
    engine = make_engine(settings.database_url)
    require_current(engine)
    use_preload()
    launchpad = args.launchpad(service_cache=settings.compiled_cache_dir,
                               cache_bytes=settings.compiled_cache_bytes)
    queue = JobQueue.from_settings(settings, WorkerContext.from_settings(
        settings, launchpad=launchpad))
    where = "Redis" if settings.redis_url else str(settings.data_dir / "queue.sqlite3")
    print(f"LaunchPad worker consuming jobs from {where}", file=sys.stderr, flush=True)
    consumer = queue.consumer(workers=args.threads)
    probe_port = args.probe_port if args.probe_port is not None else settings.jobs.probe_port
    if probe_port:
        from .probes import Liveness, Readiness, probe_app, serve_probes

        app = probe_app(
            Liveness(consumer, job_seconds=settings.jobs.wall_seconds),
            Readiness(engine, expected_revision=head_revision(), queue_pending=queue.pending))
        if settings.metrics_token:
            from launchpad_web.metrics import MetricsResource, exposition_registry

            app.add_route("/metrics", MetricsResource(settings.metrics_token, (
                exposition_registry(engine=engine, pending=queue.pending,
                                    multiprocess=settings.metrics_multiprocess))))
        server = serve_probes(app, host=settings.jobs.probe_host, port=probe_port)
        print(f"probes on http://{settings.jobs.probe_host}:{server.effective_port}/livez "
              "and /readyz", file=sys.stderr, flush=True)
    consumer.run()
    return 0
