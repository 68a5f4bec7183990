"""A Redis cache of template list pages, used when ``LAUNCHPAD_REDIS_URL`` is set.

Invalidation by generations: Redis holds a counter per user and per team
(``<prefix>gen:user:<id>``, ``<prefix>gen:team:<id>``). A page is cached under a
key naming the user, their counter, each of their teams with its counter, and the
query; so a page goes stale the moment any of these changes, and is never read
again (it expires after ``ttl``). A write to a template increments its owner's
counter and its team's, after the transaction commits (incrementing earlier would
let a reader cache the old rows under the new counters). Joining or leaving a
team changes the list of teams in the key. Without Redis there is no cache; if
Redis fails, the list is read from the database and a warning logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..teams.access import visible_team_ids

log = logging.getLogger("launchpad_web.templates.cache")

PENDING = "launchpad_web.templates.cache.pending"


class TemplateListCache:
    def __init__(
        self, client: redis.Redis, *, ttl_seconds: int = 300, prefix: str = "launchpad:templates:"
    ):
        self.client = client
        self.ttl_seconds = ttl_seconds
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str, **options: Any) -> TemplateListCache:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        return cls(client, **options)

    def page(
        self,
        db: Session,
        *,
        user_id: uuid.UUID,
        query: dict[str, Any],
        load: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        """The cached page for ``query``, or ``load()``'s, then cached."""
        team_ids = sorted(str(t) for t in db.scalars(visible_team_ids(user_id)))
        try:
            key = self._key(str(user_id), team_ids, query)
            cached = self.client.get(key)
        except redis.RedisError as exc:
            log.warning("template list cache unavailable: %s", exc)
            return load()
        if cached is not None:
            return json.loads(cached)
        page = load()
        try:
            self.client.set(key, json.dumps(page), ex=self.ttl_seconds)
        except redis.RedisError as exc:
            log.warning("template list cache unavailable: %s", exc)
        return page

    def invalidate_after_commit(
        self,
        db: Session,
        *,
        user_ids: Iterable[uuid.UUID],
        team_ids: Iterable[uuid.UUID | None] = (),
    ) -> None:
        """Increment these users' and teams' counters once ``db`` commits."""
        counters = {self._counter("user", u) for u in user_ids}
        counters |= {self._counter("team", t) for t in team_ids if t is not None}
        if not event.contains(db, "after_commit", self._bump_pending):
            # Listeners live as long as the session: one request's.
            event.listen(db, "after_commit", self._bump_pending)
            event.listen(db, "after_rollback", self._forget_pending)
        db.info.setdefault(PENDING, set()).update(counters)

    def _bump_pending(self, db: Session) -> None:
        counters = db.info.pop(PENDING, None)
        if not counters:
            return
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for counter in sorted(counters):
                    pipe.incr(counter)
                    pipe.expire(counter, self.ttl_seconds * 2)
                pipe.execute()
        except redis.RedisError as exc:
            log.warning(
                "template list cache not invalidated (stale for up to %ss): %s",
                self.ttl_seconds,
                exc,
            )

    def _forget_pending(self, db: Session) -> None:
        db.info.pop(PENDING, None)

    def _counter(self, kind: str, owner: uuid.UUID | str) -> str:
        return f"{self.prefix}gen:{kind}:{owner}"

    def _key(self, user_id: str, team_ids: list[str], query: dict[str, Any]) -> str:
        counters = [self._counter("user", user_id), *(self._counter("team", t) for t in team_ids)]
        generations = [g.decode() if g else "0" for g in self.client.mget(counters)]
        parts = {
            "user": user_id,
            "teams": dict(zip(team_ids, generations[1:], strict=True)),
            "generation": generations[0],
            "query": query,
        }
        digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
        return f"{self.prefix}list:{user_id}:{digest}"
