"""Helpers for tests and benches of the service (nothing here runs in production)."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .db import utc_now
from .templates.models import TemplateRecord, TemplateVersion


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


def insert_template(session: Session, *, owner_id: uuid.UUID | str, definition: Mapping[str, Any],
                    name: str | None = None, team_id: uuid.UUID | None = None,
                    history: Sequence[Mapping[str, Any]] = (), created_by: uuid.UUID | None = None,
                    at: datetime | None = None) -> TemplateRecord:
    """A template and its versions written past the API (flushed, not committed): the
    ``history`` definitions as versions 1, 2 ..., then ``definition`` as the current one."""
    at = at or utc_now()
    owner = uuid.UUID(str(owner_id))
    versions = [*history, definition]
    row = TemplateRecord(name=name or definition["name"], definition=dict(definition),
                         version=len(versions), owner_id=owner, team_id=team_id,
                         created_at=at, updated_at=at)
    session.add(row)
    session.flush()
    session.add_all(TemplateVersion(template_id=row.id, number=number, definition=dict(old),
                                    created_by=created_by, created_at=at)
                    for number, old in enumerate(versions, start=1))
    session.flush()
    return row
