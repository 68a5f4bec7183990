"""SQLAlchemy foundation: the declarative base, column types, engines and sessions.

* Constraint names follow :data:`NAMING_CONVENTION`, so migrations can name them.
* Enum-like columns are :class:`enum.StrEnum` annotations stored as strings with a
  CHECK constraint (portable; no native PostgreSQL enum types).
* Primary keys are UUIDs (:class:`sqlalchemy.Uuid`), timestamps are timezone-aware
  UTC (:class:`UTCDateTime`), JSON is JSONB on PostgreSQL.
* SQLite (the embedded default) runs with WAL, foreign keys on, a busy timeout and
  ``BEGIN IMMEDIATE`` transactions; a request ends its transaction before any
  evaluation of template code (:func:`end_transaction`), so none holds the lock long.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys = ON",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA busy_timeout = 5000",
)

JSON_TYPE = sa.JSON().with_variant(JSONB(), "postgresql")


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive, in UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a timezone-aware column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        uuid.UUID: sa.Uuid(),
        datetime: UTCDateTime(),
        dict[str, Any]: JSON_TYPE,
        list[Any]: JSON_TYPE,
        enum.StrEnum: sa.Enum(
            enum.StrEnum,
            native_enum=False,
            create_constraint=True,
            length=32,
            values_callable=lambda members: [m.value for m in members],
        ),
    }


class HasId:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, sort_order=-1)


class HasTimestamps:
    created_at: Mapped[datetime] = mapped_column(default=utc_now, sort_order=1)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now, sort_order=1)


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """An engine for ``url``: SQLite with its pragmas, or a pre-pinged pool elsewhere."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(parsed, pool_pre_ping=True, pool_size=pool_size,
                                max_overflow=pool_size)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(parsed)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin), so SAVEPOINTs work.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    # IMMEDIATE takes the write lock up front (waiting up to busy_timeout), so a
    # transaction that reads and then writes never fails with "database is locked"
    # on the upgrade; transactions are serialised, as Rails' and Django's SQLite
    # defaults do. PostgreSQL is the choice for concurrency.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(bind: Engine | sa.Connection, **options: Any) -> sessionmaker:
    """The one way sessions are made, in the app and in tests (which join a transaction)."""
    return sessionmaker(bind=bind, expire_on_commit=False, **options)


def end_transaction(db: Session) -> None:
    """Commit what the request has done so far, before it waits on something slow (an
    evaluation of template code): no lock, above all SQLite's write lock, is held
    across the wait. The session goes on in a new transaction, so a service must not
    rely on reads from before the wait being current: re-read, or write conditionally
    (``UPDATE ... WHERE version = expected``)."""
    if db.in_transaction():
        db.commit()
