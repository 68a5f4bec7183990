"""Time as a collaborator: services take a ``Clock`` so tests can move it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from .db import utc_now

Clock = Callable[[], datetime]
"""A callable answering the current time as a timezone-aware UTC datetime."""

system_clock: Clock = utc_now
