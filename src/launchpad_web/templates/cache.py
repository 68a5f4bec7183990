"""A Redis cache of template list pages, used when ``LAUNCHPAD_REDIS_URL`` is set.

A hit costs one Redis round trip and no database: ``MGET`` of the user's
generation (``<prefix>gen:<user>``) and of the page
(``<prefix>list:<user>:<sha256 of the query>``), whose value is the generation it
was built at, a space, and the page's JSON, answered as it is stored. The page is
a hit when it was built at the current generation. A miss loads the page from the
database after reading the generation, so a page can only be newer than the
generation it is stored with.

Invalidation fans out on write: services call :meth:`TemplateListCache.lists_changed`
inside their transaction with every user whose list changes (a personal template's
owner; every member of a team template's team; whoever joins or leaves a team;
every member of a deleted team or of the teams of a deleted account), and those
users get a new generation once the transaction commits (earlier would let a
reader cache the old rows under the new generation); nothing when it rolls back.
Generations are random values, not counters, and a page is only ever stored
under one: a generation that expires or is evicted is replaced by a new random
one, which no stored page matches (Redis may evict keys freely). Without Redis
the database keeps the generations instead (:mod:`.database_pages`); if Redis
fails, lists are read from the database for a second (then Redis is tried again)
and a warning logged.

In front of Redis, each process keeps the pages it served (:mod:`.near`):
a hit there costs no round trip at all; writers publish the changed users on a
channel that every process reads before each lookup.

The read goes through a connection of each thread's own (waitress threads live as
long as the process) rather than the client's pool: taking a connection from the
pool and giving it back costs as much CPU as the ``MGET`` itself (about 40 µs).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..metrics import CACHE_REQUESTS
from . import process_pages as near_tier
from .process_pages import NearPages

log = logging.getLogger("launchpad_web.templates.cache")

PENDING = "launchpad_web.templates.cache.pending"


# Pre-bound children of launchpad_cache_requests_total: no label lookup per request.
_NEAR_HIT = CACHE_REQUESTS.labels("templates_near", "hit")
_NEAR_MISS = CACHE_REQUESTS.labels("templates_near", "miss")
_SHARED_HIT = CACHE_REQUESTS.labels("templates_redis", "hit")
_SHARED_MISS = CACHE_REQUESTS.labels("templates_redis", "miss")

class ListPages(Protocol):
    """What the services and resources use of a template list cache: Redis's
    (:class:`TemplateListCache`) or the database's (:mod:`.database_pages`)."""

    def page(self, *, user_id: uuid.UUID, query: dict[str, Any],
             load: Callable[[], Any]) -> bytes: ...

    def lists_changed(self, db: Session, user_ids: Iterable[uuid.UUID]) -> None: ...


class TemplateListCache:
    def __init__(
        self, client: redis.Redis, *, ttl_seconds: int = 300, prefix: str = "launchpad:templates:",
        near: NearPages | None = None,
    ):
        self.client = client
        self.ttl_seconds = ttl_seconds
        self.prefix = prefix
        self.near = near
        self._own = threading.local()
        self._down_until = 0.0

    @classmethod
    def from_url(cls, url: str, **options: Any) -> TemplateListCache:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        return cls(client, near=NearPages(client), **options)

    def page(self, *, user_id: uuid.UUID, query: dict[str, Any], load: Callable[[], Any]) -> bytes:
        """The JSON of ``user_id``'s page for ``query``: this process's copy, Redis's, or
        ``load()``'s, then cached."""
        if self.near is None:
            return self._shared_page(user_id, query, load)
        found = self.near.lookup(user_id, tuple(sorted(query.items())))
        if isinstance(found, bytes):
            _NEAR_HIT.inc()
            return found
        _NEAR_MISS.inc()
        data = self._shared_page(user_id, query, load)
        self.near.keep(found, data)
        return data

    def _shared_page(self, user_id: uuid.UUID, query: dict[str, Any],
                     load: Callable[[], Any]) -> bytes:
        if time.monotonic() < self._down_until:
            return _json(load())  # Redis failed a moment ago: no wait for it per request
        generation_key, page_key = self._generation_key(user_id), self._page_key(user_id, query)
        try:
            generation, stored = self._mget(generation_key, page_key)
            if generation is not None and stored is not None:
                built_at, _, data = stored.partition(b" ")
                if built_at == generation:
                    _SHARED_HIT.inc()
                    return data
            _SHARED_MISS.inc()
            if generation is None:
                generation = self._start_generation(generation_key)
        except redis.RedisError as exc:
            self._unavailable(exc)
            return _json(load())
        data = _json(load())
        try:
            self.client.set(page_key, generation + b" " + data, ex=self.ttl_seconds)
        except redis.RedisError as exc:
            self._unavailable(exc)
        return data

    def _unavailable(self, exc: redis.RedisError) -> None:
        """Read lists from the database alone for a while, as the near tier does (one
        warning, not one per request, and no connect timeout to wait out per request)."""
        log.warning("template list cache unavailable for %ss: %s", near_tier.RETRY_SECONDS, exc)
        self._down_until = time.monotonic() + near_tier.RETRY_SECONDS

    def _start_generation(self, key: str) -> bytes:
        """A generation for a user who has none (never changed, expired or evicted): a new
        random one unless a writer set one meanwhile. Pages are only ever stored under a
        random generation, so a generation that disappears never matches an old page."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.set(key, secrets.token_hex(8), nx=True, ex=self.ttl_seconds * 2)
            pipe.get(key)
            _, generation = pipe.execute()
        return generation

    def lists_changed(self, db: Session, user_ids: Iterable[uuid.UUID]) -> None:
        """Give these users a new generation once ``db`` commits."""
        user_ids = set(user_ids)
        if not user_ids:
            return
        if not event.contains(db, "after_commit", self._bump_pending):
            # Listeners live as long as the session: one request's.
            event.listen(db, "after_commit", self._bump_pending)
            event.listen(db, "after_rollback", self._forget_pending)
        db.info.setdefault(PENDING, set()).update(user_ids)

    def _bump_pending(self, db: Session) -> None:
        user_ids = db.info.pop(PENDING, None)
        if not user_ids:
            return
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for user_id in sorted(user_ids):
                    pipe.set(self._generation_key(user_id), secrets.token_hex(8),
                             ex=self.ttl_seconds * 2)
                if self.near is not None:
                    self.near.publish(pipe, user_ids)
                pipe.execute()
        except redis.RedisError as exc:
            log.warning(
                "template list cache not invalidated (stale for up to %ss): %s",
                self.ttl_seconds,
                exc,
            )
        finally:
            if self.near is not None:  # after the new generations: no reload of the old
                self.near.forget(user_ids)

    def _mget(self, *keys: str) -> list[bytes | None]:
        """``MGET`` on this thread's connection (reconnecting after a failure)."""
        connection = getattr(self._own, "connection", None)
        if connection is None:
            pool = self.client.connection_pool
            connection = self._own.connection = pool.connection_class(**pool.connection_kwargs)
        try:
            connection.send_command("MGET", *keys)
            return connection.read_response()
        except redis.RedisError:
            connection.disconnect()
            raise

    def _forget_pending(self, db: Session) -> None:
        db.info.pop(PENDING, None)

    def _generation_key(self, user_id: uuid.UUID) -> str:
        return f"{self.prefix}gen:{user_id}"

    def _page_key(self, user_id: uuid.UUID, query: dict[str, Any]) -> str:
        digest = hashlib.sha256(json.dumps(query, sort_keys=True).encode()).hexdigest()
        return f"{self.prefix}list:{user_id}:{digest}"


def _json(page: Any) -> bytes:
    return json.dumps(page, ensure_ascii=False, separators=(",", ":")).encode()
