"""Deleting what has expired: sessions past their idle or absolute lifetime, and
login failures, sign-ups and password-reset requests that left their throttling
window. ``launchpad db purge-sessions`` runs it; a periodic task may call
:func:`purge_expired` as well."""

from __future__ import annotations

import attrs
from sqlalchemy.orm import Session

from ..clock import Clock, system_clock
from ..settings import WebSettings
from .resets import purge_resets
from .sessions import SessionStore
from .throttling import LoginThrottle, SignupThrottle


@attrs.frozen
class PurgeCounts:
    sessions: int
    login_failures: int
    signup_attempts: int
    password_resets: int


def purge_expired(db: Session, settings: WebSettings, *,
                  clock: Clock = system_clock) -> PurgeCounts:
    """Delete expired rows (flushed, not committed) and count them."""
    sessions = SessionStore(idle=settings.session_idle, absolute=settings.session_max,
                            clock=clock)
    return PurgeCounts(sessions=sessions.purge_expired(db),
                       login_failures=LoginThrottle(clock=clock).purge(db),
                       signup_attempts=SignupThrottle(clock=clock).purge(db),
                       password_resets=purge_resets(db, clock))
