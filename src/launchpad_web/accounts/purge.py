"""Deleting what has expired: sessions past their idle or absolute lifetime, and
login failures and sign-ups that left their throttling window. ``launchpad db purge-sessions``
runs it; a periodic task may call :func:`purge_expired` as well."""

from __future__ import annotations

import attrs
from sqlalchemy.orm import Session

from ..clock import Clock, system_clock
from ..settings import WebSettings
from .sessions import SessionStore
from .throttling import LoginThrottle, SignupThrottle


@attrs.frozen
class PurgeCounts:
    sessions: int
    login_failures: int
    signup_attempts: int


def purge_expired(db: Session, settings: WebSettings, *,
                  clock: Clock = system_clock) -> PurgeCounts:
    """Delete expired rows (flushed, not committed) and count them."""
    sessions = SessionStore(idle=settings.session_idle, absolute=settings.session_max,
                            clock=clock)
    return PurgeCounts(sessions=sessions.purge_expired(db),
                       login_failures=LoginThrottle(clock=clock).purge(db),
                       signup_attempts=SignupThrottle(clock=clock).purge(db))
