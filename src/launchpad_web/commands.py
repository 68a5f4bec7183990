"""``launchpad serve``, ``launchpad db upgrade|downgrade|backup|restore|current|revision|
purge-sessions`` and ``launchpad keys generate|rotate``, added
through the core's ``launchpad_register_commands`` hook (entry point ``web`` in group
``launchpad``)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from launchpad_core import hookimpl

if TYPE_CHECKING:
    from .settings import WebSettings

# Every `launchpad` command (`render` too) loads this module to register its
# commands, so the web stack (SQLAlchemy, Alembic, Falcon) is imported only
# inside the handlers that use it.


@hookimpl
def launchpad_register_commands(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser(
        "serve", help="run the web service (waitress); LAUNCHPAD_* variables configure it")
    serve.add_argument("--host", help="listen address (LAUNCHPAD_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (LAUNCHPAD_PORT, 8000)")
    serve.add_argument("--threads", type=int, help="worker threads (LAUNCHPAD_THREADS, 8)")
    serve.add_argument("--no-worker", action="store_true",
                       help="run no job consumer in this process (never runs one when "
                            "LAUNCHPAD_REDIS_URL is set: start `launchpad worker`)")
    serve.set_defaults(handler=_serve)

    db = subparsers.add_parser("db", help="the web service's database schema")
    actions = db.add_subparsers(required=True, metavar="ACTION")
    up = actions.add_parser("upgrade", help="apply migrations (to the newest by default)")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(handler=_db_upgrade)
    down = actions.add_parser(
        "downgrade", help="undo migrations down to REVISION (e.g. 0005, or base)")
    down.add_argument("revision")
    down.set_defaults(handler=_db_downgrade)
    backup = actions.add_parser(
        "backup", help="copy the embedded SQLite database (consistent while the service "
                       "runs) and the artifacts into one file")
    backup.add_argument("file", type=Path)
    backup.set_defaults(handler=_db_backup)
    restore = actions.add_parser(
        "restore", help="put a backup's database and artifacts into the data directory")
    restore.add_argument("file", type=Path)
    restore.add_argument("--force", action="store_true",
                         help="replace the database and artifacts that are there")
    restore.set_defaults(handler=_db_restore)
    current = actions.add_parser("current", help="print the current and expected revision")
    current.set_defaults(handler=_db_current)
    revision = actions.add_parser(
        "revision", help="(developers) autogenerate the next migration from the models")
    revision.add_argument("-m", "--message", required=True)
    revision.set_defaults(handler=_db_revision)
    purge = actions.add_parser(
        "purge-sessions", help="delete expired sessions, old login failures and sign-ups")
    purge.set_defaults(handler=_db_purge_sessions)

    keys = subparsers.add_parser("keys", help="the encryption keys of stored forge tokens")
    key_actions = keys.add_subparsers(required=True, metavar="ACTION")
    generate = key_actions.add_parser(
        "generate", help="print a new key: put it first in LAUNCHPAD_ENCRYPTION_KEYS")
    generate.set_defaults(handler=_keys_generate)
    rotate = key_actions.add_parser(
        "rotate", help="re-encrypt every stored token under the first key of "
                       "LAUNCHPAD_ENCRYPTION_KEYS (then older keys can be removed)")
    rotate.set_defaults(handler=_keys_rotate)


def _settings(args: argparse.Namespace) -> WebSettings:
    import attrs

    from .settings import WebSettings

    settings = WebSettings.from_env()
    overrides = {name: getattr(args, name, None) for name in ("host", "port", "threads")}
    return attrs.evolve(settings, **{k: v for k, v in overrides.items() if v is not None})


def _serve(args: argparse.Namespace) -> int:
    from launchpad_worker.compose import service_app
    from launchpad_worker.context import WorkerContext
    from launchpad_worker.queue import JobQueue, running_consumer

    from .db import make_engine, make_session_factory
    from .logs import configure_logging
    from .migrate import require_current
    from .serving import create_server

    settings = _settings(args)
    configure_logging(settings.log_level)
    engine = make_engine(settings.database_url, pool_size=settings.threads)
    require_current(engine)
    session_factory = make_session_factory(engine)
    launchpad = args.launchpad(service_cache=settings.compiled_cache_dir,
                               cache_bytes=settings.compiled_cache_bytes)
    queue = JobQueue.from_settings(settings, WorkerContext.from_settings(
        settings, session_factory=session_factory, launchpad=launchpad))
    app = service_app(settings, session_factory=session_factory, launchpad=launchpad,
                      job_queue=queue)
    print(f"LaunchPad listening on http://{settings.host}:{settings.port}", file=sys.stderr,
          flush=True)
    # SIGTERM (docker stop, systemd) ends serve() as Ctrl-C does: waitress closes its
    # sockets, the embedded consumer stops, and the log writer flushes at exit.
    signal.signal(signal.SIGTERM, _interrupt)
    with running_consumer(queue, enabled=not args.no_worker and not settings.redis_url):
        create_server(app, host=settings.host, port=settings.port,
                      **settings.server_options()).run()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _db_upgrade(args: argparse.Namespace) -> int:
    from .db import make_engine
    from .migrate import current_revision, upgrade
    from .settings import WebSettings

    engine = make_engine(WebSettings.from_env().database_url)
    upgrade(engine, args.revision)
    with engine.connect() as connection:
        print(f"database at revision {current_revision(connection)}")
    return 0


def _db_downgrade(args: argparse.Namespace) -> int:
    from .db import make_engine
    from .errors import ConfigurationError
    from .migrate import current_revision, downgrade, revisions
    from .settings import WebSettings

    known = revisions()
    if args.revision != "base" and args.revision not in known:
        raise ConfigurationError(
            f"no revision {args.revision!r}; revisions are base, {', '.join(known)}")
    engine = make_engine(WebSettings.from_env().database_url)
    downgrade(engine, args.revision)
    with engine.connect() as connection:
        print(f"database at revision {current_revision(connection) or 'base (empty)'}")
    return 0


def _db_backup(args: argparse.Namespace) -> int:
    from .backup import backup
    from .settings import WebSettings

    settings = WebSettings.from_env()
    manifest = backup(settings.database_url, settings.jobs.artifact_dir, args.file)
    print(f"backed up revision {manifest['revision']} to {args.file}")
    _say_where_archives_are(settings)
    return 0


def _say_where_archives_are(settings: WebSettings) -> None:
    """With a bucket, the archives are not in the backup file: say so, every time."""
    bucket = settings.jobs.bucket
    if bucket is not None:
        print(f"the archives are in the bucket {bucket.bucket!r}, not in this file: keep "
              "them with the bucket's own versioning or replication")


def _db_restore(args: argparse.Namespace) -> int:
    from .backup import restore
    from .migrate import head_revision
    from .settings import WebSettings

    settings = WebSettings.from_env()
    manifest = restore(args.file, settings.database_url, settings.jobs.artifact_dir,
                       force=args.force)
    note = ("" if manifest["revision"] == head_revision()
            else "; run `launchpad db upgrade` before `launchpad serve`")
    print(f"restored revision {manifest['revision']} from {args.file}{note}")
    _say_where_archives_are(settings)
    return 0


def _db_current(args: argparse.Namespace) -> int:
    from .db import make_engine
    from .migrate import current_revision, head_revision
    from .settings import WebSettings

    engine = make_engine(WebSettings.from_env().database_url)
    with engine.connect() as connection:
        current = current_revision(connection)
    print(f"current: {current or 'none'}\nexpected: {head_revision()}")
    return 0 if current == head_revision() else 1


def _db_purge_sessions(args: argparse.Namespace) -> int:
    from .accounts.purge import purge_expired
    from .db import make_engine, make_session_factory
    from .migrate import require_current
    from .settings import WebSettings

    settings = WebSettings.from_env()
    engine = make_engine(settings.database_url)
    require_current(engine)
    with make_session_factory(engine)() as db, db.begin():
        counts = purge_expired(db, settings)
    print(f"purged {counts.sessions} expired sessions, {counts.login_failures} old login "
          f"failures, {counts.signup_attempts} old sign-ups and {counts.password_resets} old "
          f"password resets")
    return 0


def _db_revision(args: argparse.Namespace) -> int:
    from .migrate import new_revision

    print(f"wrote {new_revision(args.message)}; review it, then `ruff format` it")
    return 0


def _keys_generate(args: argparse.Namespace) -> int:
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode("ascii"))
    return 0


def _keys_rotate(args: argparse.Namespace) -> int:
    from . import models  # noqa: F401  (every domain's encrypted columns)
    from .db import make_engine, make_session_factory
    from .errors import ConfigurationError
    from .forges.rotation import rotate_tokens
    from .migrate import require_current
    from .settings import WebSettings

    settings = WebSettings.from_env()
    if not settings.forges.enabled:
        raise ConfigurationError("LAUNCHPAD_ENCRYPTION_KEYS is not set: there is no key to "
                                 "rotate to")
    engine = make_engine(settings.database_url)
    require_current(engine)
    with make_session_factory(engine)() as db, db.begin():
        count = rotate_tokens(db, settings.forges.encryption_keys)
    print(f"re-encrypted the secrets of {count} rows (forge tokens, webhook secrets) "
          "under the first key")
    return 0
