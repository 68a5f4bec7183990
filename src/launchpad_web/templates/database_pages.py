"""The template list cache of API processes without Redis: pages kept in the process,
checked against a generation stored in the database.

Without Redis a process cannot hear of other processes' writes, so every list used
to be read from the database: four round trips (pool pre-ping, begin, the page,
commit) and the ORM's work, 8-10% of a bare Falcon hello-world. Here a lookup costs
one small query instead, on a connection of the thread's own kept in autocommit (no
pool, no BEGIN/COMMIT): the user's generation from ``template_list_generations``.
The process answers the page it keeps for the user and query when it was built at
that generation.

Writers give each user whose lists change a new random generation in the very
transaction that changes them (:meth:`DatabaseListCache.lists_changed`, called by
the services before their write, like the Redis cache's), so the generation commits
or rolls back with the change. A miss reads the generation before it loads the page,
so a page is never older than the generation it is kept under: on PostgreSQL each
statement sees every commit before it; on SQLite the request's transaction holds the
write lock from its BEGIN IMMEDIATE, so nothing commits between its reads.

Pages are bounded by total size, least recently used first. When the generation
cannot be read (database gone), the page is loaded as without a cache, which then
fails the way every request does.
"""

from __future__ import annotations

import logging
import secrets
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from ..db import SQLITE_PRAGMAS
from ..metrics import CACHE_REQUESTS
from .models import TemplateListGeneration

log = logging.getLogger("launchpad_web.templates.cache")

_HIT = CACHE_REQUESTS.labels("templates_db", "hit")
_MISS = CACHE_REQUESTS.labels("templates_db", "miss")
_NEVER_CHANGED = ""  # the generation of a user without a row

class DatabaseListCache:
    def __init__(self, engine: Engine, *, max_bytes: int = 64 * 1024 * 1024):
        self.max_bytes = max_bytes
        self._reader = _autocommit_engine(engine)
        self._driver_error = engine.dialect.dbapi.Error  # sqlite3's or psycopg's base error
        self._own = threading.local()
        self._lock = threading.Lock()
        self._pages: OrderedDict[tuple[uuid.UUID, Hashable], tuple[str, bytes]] = OrderedDict()
        self._bytes = 0

    def page(self, *, user_id: uuid.UUID, query: dict[str, Any], load: Callable[[], Any]) -> bytes:
        """The JSON of ``user_id``'s page for ``query``: this process's copy when it was
        built at the user's current generation, else ``load()``'s, then kept."""
        from .cache import _json

        try:
            generation = self._generation(user_id)
        except self._driver_error as exc:
            log.warning("template list generation unreadable, list read uncached: %s", exc)
            return _json(load())
        key = (user_id, tuple(sorted(query.items())))
        with self._lock:
            found = self._pages.get(key)
            if found is not None and found[0] == generation:
                self._pages.move_to_end(key)
                _HIT.inc()
                return found[1]
        _MISS.inc()
        data = _json(load())
        if len(data) <= self.max_bytes:
            self._keep(key, generation, data)
        return data

    def lists_changed(self, db: Session, user_ids: Iterable[uuid.UUID]) -> None:
        """Give these users a new generation in ``db``'s transaction (before its write)."""
        rows = [{"user_id": user_id, "generation": secrets.token_hex(8)}
                for user_id in sorted(set(user_ids))]  # one lock order: no deadlock
        if not rows:
            return
        dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
        upsert = dialect.insert(TemplateListGeneration).values(rows)
        db.execute(upsert.on_conflict_do_update(
            index_elements=[TemplateListGeneration.user_id],
            set_={"generation": upsert.excluded.generation}))

    def close(self) -> None:
        self._reader.dispose()

    def _generation(self, user_id: uuid.UUID) -> str:
        """One query on this thread's own driver connection (SQLAlchemy's statement
        layer costs more CPU than the query itself here)."""
        reader = getattr(self._own, "reader", None)
        if reader is None:
            reader = self._own.reader = self._connect()
        _, connection, sql, as_parameter = reader
        try:
            found = connection.execute(sql, (as_parameter(user_id),)).fetchone()
        except self._driver_error:
            self._own.reader = None  # the next lookup connects again
            reader[0].invalidate()
            raise
        return _NEVER_CHANGED if found is None else found[0]

    def _connect(self) -> tuple[Any, Any, str, Callable[[uuid.UUID], Any]]:
        """The pool's wrapper (kept: dropping it closes the connection), the driver's
        connection, the query in the driver's parameter style, and the id as the
        column stores it."""
        wrapper = self._reader.raw_connection()
        table = TemplateListGeneration.__tablename__
        if self._reader.dialect.name == "sqlite":  # sa.Uuid keeps 32 hex digits there
            return (wrapper, wrapper.driver_connection,
                    f"SELECT generation FROM {table} WHERE user_id = ?",
                    lambda user_id: user_id.hex)
        return (wrapper, wrapper.driver_connection,
                f"SELECT generation FROM {table} WHERE user_id = %s", lambda user_id: user_id)

    def _keep(self, key: tuple[uuid.UUID, Hashable], generation: str, data: bytes) -> None:
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1])
            self._pages[key] = (generation, data)
            self._bytes += len(data)
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._pages.popitem(last=False)
                self._bytes -= len(dropped)


def _autocommit_engine(engine: Engine) -> Engine:
    """Connections for the generation reads: each thread keeps one (no pool to take it
    from per request) in autocommit (no BEGIN and COMMIT round trips)."""
    if engine.dialect.name != "sqlite":
        return sa.create_engine(engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    reader = sa.create_engine(engine.url, poolclass=NullPool)

    @event.listens_for(reader, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver's autocommit: no BEGIN
        for pragma in SQLITE_PRAGMAS:
            dbapi_connection.execute(pragma)

    return reader
