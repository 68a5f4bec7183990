"""Schema revisions: upgrade, read the current and expected revision, refuse an old schema.

Alembic is configured here, in code: scripts live in ``launchpad_web/migrations``
and every call runs on a connection we hand over (``env.py`` takes it from
``config.attributes``). Revisions are numbered ``0001``, ``0002`` ...
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .db import make_engine
from .errors import SchemaOutdatedError

VERSIONS_DIR = Path(__file__).parent / "migrations" / "versions"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "launchpad_web:migrations")
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str | None:
    """The revision this version of the code expects."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: sa.Connection) -> str | None:
    """The database's revision, None when no migration has run."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: sa.Engine, revision: str) -> None:
    """Undo migrations down to ``revision`` (``base``: an empty database)."""
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def require_current(engine: sa.Engine) -> None:
    """Raise :class:`SchemaOutdatedError` unless the schema is at the head revision."""
    with engine.connect() as connection:
        current = current_revision(connection)
    expected = head_revision()
    if current != expected:
        raise SchemaOutdatedError(
            f"the database schema is at revision {current or 'none (empty database)'} "
            f"but this version of LaunchPad expects {expected}; "
            "run `launchpad db upgrade` first"
        )


def new_revision(message: str) -> Path:
    """Autogenerate the next revision from the models, compared with a scratch
    SQLite database upgraded to the head; review the file before committing it."""
    number = len(list(ScriptDirectory.from_config(alembic_config()).walk_revisions())) + 1
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{scratch}/scratch.sqlite3")
        upgrade(engine)
        with engine.begin() as connection:
            script = command.revision(alembic_config(connection), message=message,
                                      autogenerate=True, rev_id=f"{number:04d}")
        engine.dispose()
    return Path(script.path)
