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
    worker.set_defaults(handler=_worker)


def _worker(args: argparse.Namespace) -> int:
    from launchpad_web.db import make_engine
    from launchpad_web.logs import configure_logging
    from launchpad_web.migrate import require_current
    from launchpad_web.settings import WebSettings

    from .context import WorkerContext
    from .preload import use_preload
    from .queue import JobQueue

    settings = WebSettings.from_env()
    configure_logging(settings.log_level)
    require_current(make_engine(settings.database_url))
    use_preload()
    launchpad = args.launchpad(service_cache=settings.compiled_cache_dir,
                               cache_bytes=settings.compiled_cache_bytes)
    queue = JobQueue.from_settings(settings, WorkerContext.from_settings(
        settings, launchpad=launchpad))
    where = "Redis" if settings.redis_url else str(settings.data_dir / "queue.sqlite3")
    print(f"LaunchPad worker consuming jobs from {where}", file=sys.stderr, flush=True)
    queue.consumer(workers=args.threads).run()
    return 0
