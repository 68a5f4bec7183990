"""Helpers for tests and benches of the service (nothing here runs in production)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import sqlalchemy as sa


class PostgresUnavailableError(RuntimeError):
    """The admin URL's server does not answer."""


@contextlib.contextmanager
def fresh_postgresql_database(admin_url: str, *, prefix: str = "lp_test") -> Iterator[sa.URL]:
    """A new, empty database on the server of ``admin_url``, dropped afterwards (also
    with connections still open: ``WITH (FORCE)``)."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    name = f"{prefix}_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
    except sa.exc.OperationalError as exc:
        admin.dispose()
        raise PostgresUnavailableError(f"PostgreSQL at {sa.make_url(admin_url).host} does "
                                       f"not answer: {exc.orig}") from None
    try:
        yield sa.make_url(admin_url).set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()
