"""The near tier of the template list cache: this process's copies of the pages it served.

A hit in Redis costs a round trip (about 100 µs of a request's 200); a hit here
costs none. Correctness rests on one channel: a writer publishes, once its
transaction commits and before it answers its client, the ids of the users whose
lists changed (:meth:`NearPages.publish`); every process subscribes to it, and
before each lookup reads whatever has arrived (a non-blocking read of one
socket, about 5 µs). Redis writes a published message to the subscribers'
sockets before it answers the publisher, and the client only learns of its
write after that answer, so any request that starts after a write was answered
finds the message waiting and never sees the old page. The writer's own process
also drops the pages at once, without waiting for its message.

Loads race with changes the same way as in Redis: a lookup hands out a
:class:`Ticket` holding the user's change stamp, and a page is kept only if no
change for that user was read in the meantime.

Whenever the subscription fails or reconnects (it may have missed messages) every
page is dropped; while it is down the tier is bypassed and retried at most once a
second. Pages are bounded by total size, least recently used first.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Hashable, Iterable

import attrs
import redis

from .socket_poll import readable_now

log = logging.getLogger("launchpad_web.templates.cache")

CHANNEL = "launchpad:templates:changed"
RETRY_SECONDS = 1.0  # after a Redis failure, both tiers leave Redis alone this long
SUBSCRIBE_TIMEOUT = 2.0


@attrs.frozen
class Ticket:
    """What a lookup that missed hands to :meth:`NearPages.keep`."""

    user_id: uuid.UUID
    query: Hashable
    stamp: int


class NearPages:
    def __init__(self, client: redis.Redis, *, channel: str = CHANNEL,
                 max_bytes: int = 64 * 1024 * 1024, max_stamps: int = 100_000):
        self.client = client
        self.channel = channel
        self.max_bytes = max_bytes
        self.max_stamps = max_stamps
        self._lock = threading.RLock()  # the reconnect callback runs inside a locked read
        self._pubsub: redis.client.PubSub | None = None
        self._retry_at = 0.0
        self._subscribing = False
        self._pages: OrderedDict[uuid.UUID, dict[Hashable, bytes]] = OrderedDict()
        self._bytes = 0
        # A user's stamp is the serial of the last change read for them; users
        # forgotten to bound memory fall back to the floor, never below it.
        self._serial = itertools.count(1)
        self._stamps: OrderedDict[uuid.UUID, int] = OrderedDict()
        self._floor = 0

    # -- readers ------------------------------------------------------------------------
    def lookup(self, user_id: uuid.UUID, query: Hashable) -> bytes | Ticket | None:
        """The page if this process holds it, else a ticket to keep the page once
        loaded, or ``None`` while the subscription is down (nothing may be kept)."""
        if self._pubsub is None and not self._subscribed():
            return None
        with self._lock:
            if not self._drained():
                return None
            pages = self._pages.get(user_id)
            if pages is not None and query in pages:
                self._pages.move_to_end(user_id)
                return pages[query]
            return Ticket(user_id, query, self._stamps.get(user_id, self._floor))

    def keep(self, ticket: Ticket | None, data: bytes) -> None:
        """Keep a page loaded after ``ticket``'s lookup, unless its user changed since."""
        if ticket is None or len(data) > self.max_bytes:
            return
        with self._lock:
            if self._pubsub is None or (
                    self._stamps.get(ticket.user_id, self._floor) != ticket.stamp):
                return
            pages = self._pages.setdefault(ticket.user_id, {})
            self._bytes += len(data) - len(pages.get(ticket.query, b""))
            pages[ticket.query] = data
            self._pages.move_to_end(ticket.user_id)
            while self._bytes > self.max_bytes:
                _, dropped = self._pages.popitem(last=False)
                self._bytes -= sum(map(len, dropped.values()))

    # -- writers ------------------------------------------------------------------------
    def publish(self, pipe: redis.client.Pipeline, user_ids: Iterable[uuid.UUID]) -> None:
        """Add the message for ``user_ids`` to a writer's pipeline (sent after commit)."""
        pipe.publish(self.channel, " ".join(sorted(u.hex for u in user_ids)))

    def forget(self, user_ids: Iterable[uuid.UUID]) -> None:
        """Drop these users' pages here at once (the writer's own process)."""
        with self._lock:
            self._changed(user_ids)

    # -- the subscription -----------------------------------------------------------------
    def _subscribed(self) -> bool:
        """Subscribe when due, without holding the lock: while one request waits for
        Redis (up to its connect timeout), the others bypass the tier instead."""
        with self._lock:
            if self._pubsub is not None:
                return True
            if self._subscribing or time.monotonic() < self._retry_at:
                return False
            self._subscribing = True
        try:
            pubsub = self._subscribe()
        except (redis.RedisError, OSError) as exc:
            with self._lock:
                self._off(exc)
            return False
        finally:
            self._subscribing = False
        with self._lock:
            self._drop_everything()
            self._pubsub = pubsub
        return True

    def _drained(self) -> bool:
        """Read every message that has arrived. Locked."""
        if self._pubsub is None:
            return False  # lost meanwhile, in another thread
        try:
            if not self._arrived():
                return True
            while (message := self._pubsub.get_message(timeout=0.0)) is not None:
                if message["type"] == "message":
                    self._changed([uuid.UUID(hex=h.decode()) for h in message["data"].split()])
            return True
        except (redis.RedisError, OSError, ValueError) as exc:
            self._off(exc)
            return False

    def _off(self, exc: Exception) -> None:
        """Empty and bypass the tier until a retry is due. Locked."""
        log.warning("template list near cache off until Redis answers again: %s", exc)
        self._drop_everything()
        if self._pubsub is not None:
            self._pubsub.reset()
            self._pubsub = None
        self._retry_at = time.monotonic() + RETRY_SECONDS

    def _arrived(self) -> bool:
        """Whether the subscription's socket has bytes to read: one ``poll`` that keeps
        the GIL (redis-py's own check makes three system calls, each releasing it).
        Exact, because every read loop in :meth:`_drained` runs until redis-py has
        nothing buffered; without a socket, assume so."""
        sock = getattr(self._pubsub.connection, "_sock", None)
        return True if sock is None else readable_now(sock)

    def _subscribe(self) -> redis.client.PubSub:
        pubsub = self.client.pubsub()
        try:
            pubsub.subscribe(self.channel)
            deadline = time.monotonic() + SUBSCRIBE_TIMEOUT
            while (message := pubsub.get_message(timeout=SUBSCRIBE_TIMEOUT)) is None or (
                    message["type"] != "subscribe"):
                if time.monotonic() > deadline:
                    raise redis.TimeoutError("no subscription confirmation")
        except BaseException:
            pubsub.reset()
            raise
        # redis-py reconnects and subscribes again on its own; what was published
        # in between is lost, so every reconnection empties the tier.
        pubsub.connection.register_connect_callback(self._reconnected)
        return pubsub

    def _reconnected(self, connection: object) -> None:
        with self._lock:
            self._drop_everything()

    # -- bookkeeping (locked) ---------------------------------------------------------------
    def _changed(self, user_ids: Iterable[uuid.UUID]) -> None:
        for user_id in user_ids:
            self._bytes -= sum(map(len, self._pages.pop(user_id, {}).values()))
            self._stamps[user_id] = next(self._serial)
            self._stamps.move_to_end(user_id)
        while len(self._stamps) > self.max_stamps:
            _, stamp = self._stamps.popitem(last=False)
            self._floor = max(self._floor, stamp)

    def _drop_everything(self) -> None:
        self._pages.clear()
        self._bytes = 0
        self._stamps.clear()
        self._floor = next(self._serial)
