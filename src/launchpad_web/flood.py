"""A bound on the requests one client address makes, per API process.

A token bucket per address (``req.remote_addr``: behind a trusted proxy, the
client's): ``per_second`` requests a second on average, bursts of twice that (at
least 10). A request over it gets 429 ``too_many_requests`` with ``Retry-After``
before anything else is done for it (no session lookup, no body read). Off (0) by
default: set ``LAUNCHPAD_REQUESTS_PER_ADDRESS`` where one address may flood the
service, such as a public one. The health probe and the metrics are never counted.
At most :data:`ADDRESSES` addresses are remembered (the least recently seen go first).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import falcon

from .errors import TooManyRequestsError

ADDRESSES = 10_000
EXEMPT = ("/api/health", "/metrics")


class AddressRate:
    def __init__(self, per_second: float, *, clock: Callable[[], float] = time.monotonic):
        self.per_second = per_second
        self.burst = max(10.0, 2 * per_second)
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, address: str) -> float:
        """Take a request's token for ``address``: 0, or the seconds until one is there."""
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.pop(address, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.per_second)
            if tokens >= 1:
                self._buckets[address] = (tokens - 1, now)
                wait = 0.0
            else:
                self._buckets[address] = (tokens, now)
                wait = (1 - tokens) / self.per_second
            while len(self._buckets) > ADDRESSES:
                self._buckets.popitem(last=False)
        return wait

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.path in EXEMPT or not req.remote_addr:
            return
        wait = self.wait(req.remote_addr)
        if wait:
            raise TooManyRequestsError(
                f"too many requests from your address (at most {self.per_second:g} a second): "
                "try again shortly", retry_after=max(1, math.ceil(wait)))
