"""This process's fleet answers, each kept with the fingerprint it was built at.

A fleet answer (its JSON) depends on the template's latest version and on the set
of projects the caller sees in it. Before each answer the service reads a
fingerprint of both in two small aggregate queries (:meth:`ProjectService.fingerprint`:
the latest version, the number, newest creation time and sum of versions of the
projects the caller sees, and the number of the template's "would it conflict" answers
for that version and the latest time one was given); a kept answer is served when its
fingerprint is the same, else rebuilt. Every process checks against the database, so no process
serves an answer another one's write has made stale, and nothing needs to be
told of a write. (A project deleted and another recorded in its place at the very
same instant, of the same version, would keep the old answer: the clock makes
that impossible in practice.)
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable

from ..metrics import CACHE_REQUESTS

KEPT = 64

_HIT = CACHE_REQUESTS.labels("fleet", "hit")
_MISS = CACHE_REQUESTS.labels("fleet", "miss")


class FleetCache:
    def __init__(self, size: int = KEPT):
        self.size = size
        self.items: OrderedDict[tuple[Hashable, ...], tuple[Hashable, bytes]] = OrderedDict()
        self.lock = threading.Lock()

    def answer(self, *, user_id: uuid.UUID, template_id: uuid.UUID, page: Hashable,
               fingerprint: Hashable, build: Callable[[], bytes]) -> bytes:
        """The kept answer for this caller, template and page if built at ``fingerprint``;
        else ``build()``'s, kept."""
        key = (user_id, template_id, page)
        with self.lock:
            kept = self.items.get(key)
            if kept is not None and kept[0] == fingerprint:
                self.items.move_to_end(key)
                _HIT.inc()
                return kept[1]
        _MISS.inc()
        data = build()
        with self.lock:
            self.items[key] = (fingerprint, data)
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return data
