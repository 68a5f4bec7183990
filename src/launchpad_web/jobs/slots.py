"""Slots for progress event streams: how many may be open at once.

A stream holds one of the server's threads for as long as it is open, so
:class:`StreamSlots` bounds them twice before one starts: ``total`` streams in
this process (``LAUNCHPAD_EVENT_STREAMS``, half the threads by default, so
ordinary requests always have threads left) and ``per_user`` streams of one
user (``LAUNCHPAD_EVENT_STREAMS_PER_USER``, 2) in every process. Over either
bound: 429 ``too_many_streams`` with ``Retry-After``, the seconds until the
first stream that holds a slot must end.

Every slot has an expiry: the stream's longest duration plus :data:`GRACE`. A
stream that ends gives its slot back at once; one whose end was never seen (a
response dropped by an error, a process that crashed) loses it at the expiry.
The per-user count lives in Redis when ``LAUNCHPAD_REDIS_URL`` is set: one
sorted set per user (``launchpad:streams:<user id>``) whose members are slot
ids scored by their expiry (Redis' own clock), taken and pruned in one Lua
script so processes cannot both take the last slot. Without Redis it is kept
in the process, like the total.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, Protocol

import attrs

from ..errors import TooManyStreamsError

GRACE = timedelta(seconds=5)
KEY_PREFIX = "launchpad:streams:"

# KEYS[1]: the user's set; ARGV: limit, slot id, lifetime in ms.
# Answers 0 when taken, else the milliseconds until the oldest slot expires.
TAKE = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(tonumber(first[2]) - ms, 1)
end
redis.call('ZADD', KEYS[1], ms + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 0
"""


class UserCounter(Protocol):
    """Where the per-user count is kept."""

    def take(self, user_id: uuid.UUID, slot: str, limit: int, lifetime: timedelta) -> float:
        """0 when ``slot`` was taken, else the seconds until one may be free."""

    def give_back(self, user_id: uuid.UUID, slot: str) -> None: ...


class LocalCounter:
    """Slots with expiries in a dict per key, under one lock (this process only)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.lock = threading.Lock()
        self.slots: dict[Any, dict[str, float]] = {}

    def take(self, user_id: Any, slot: str, limit: int, lifetime: timedelta) -> float:
        now = self.clock()
        with self.lock:
            held = {s: end for s, end in self.slots.get(user_id, {}).items() if end > now}
            if len(held) >= limit:
                self.slots[user_id] = held
                return max(min(held.values()) - now, 0.001)
            held[slot] = now + lifetime.total_seconds()
            self.slots[user_id] = held
            return 0

    def give_back(self, user_id: Any, slot: str) -> None:
        with self.lock:
            held = self.slots.get(user_id, {})
            held.pop(slot, None)
            if not held:
                self.slots.pop(user_id, None)


class RedisCounter:
    """The per-user slots in Redis sorted sets, shared by every process."""

    def __init__(self, client: Any, prefix: str = KEY_PREFIX):
        self.client = client
        self.prefix = prefix
        self.script = client.register_script(TAKE)

    @classmethod
    def from_url(cls, url: str) -> RedisCounter:
        import redis

        return cls(redis.Redis.from_url(url))

    def take(self, user_id: uuid.UUID, slot: str, limit: int, lifetime: timedelta) -> float:
        wait = self.script(keys=[f"{self.prefix}{user_id}"],
                           args=[limit, slot, int(lifetime.total_seconds() * 1000)])
        return int(wait) / 1000

    def give_back(self, user_id: uuid.UUID, slot: str) -> None:
        self.client.zrem(f"{self.prefix}{user_id}", slot)


@attrs.frozen
class Slot:
    user_id: uuid.UUID
    id: str


class StreamSlots:
    """Takes a slot before a stream starts (or raises 429), gives it back when it ends."""

    def __init__(self, *, total: int, per_user: int, longest: timedelta,
                 users: UserCounter | None = None):
        self.total = total
        self.per_user = per_user
        self.lifetime = longest + GRACE
        self.process = LocalCounter()
        self.users = users or LocalCounter()

    def take(self, user_id: uuid.UUID) -> Slot:
        slot = Slot(user_id, uuid.uuid4().hex)
        wait = self.process.take("all", slot.id, self.total, self.lifetime)
        if wait:
            raise TooManyStreamsError(
                f"this server has {self.total} progress streams open; poll the job instead "
                "or try again", retry_after=_seconds(wait))
        try:
            wait = self.users.take(user_id, slot.id, self.per_user, self.lifetime)
        except Exception:
            self.process.give_back("all", slot.id)
            raise
        if wait:
            self.process.give_back("all", slot.id)
            raise TooManyStreamsError(
                f"you have {self.per_user} progress streams open; close one first",
                retry_after=_seconds(wait))
        return slot

    def give_back(self, slot: Slot) -> None:
        self.process.give_back("all", slot.id)
        self.users.give_back(slot.user_id, slot.id)

    def held(self, slot: Slot, stream: Iterator[bytes]) -> SlotStream:
        """``stream`` as a WSGI body that gives ``slot`` back when it ends or is closed."""
        return SlotStream(self, slot, stream)


class SlotStream:
    """An iterable body; the server calls :meth:`close` when done, even if never read."""

    def __init__(self, slots: StreamSlots, slot: Slot, stream: Iterator[bytes]):
        self.slots = slots
        self.slot = slot
        self.stream = stream
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.stream
        finally:
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.slots.give_back(self.slot)
            getattr(self.stream, "close", lambda: None)()


def _seconds(wait: float) -> int:
    return max(math.ceil(wait), 1)
