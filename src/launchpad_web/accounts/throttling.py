"""Login and sign-up throttling, per account and per client address, kept in the database.

Every failed password check (sign-in, password change, account deletion) writes
one ``login_failures`` row for the email (whether or not an account has it) and
one for the client address. Before checking a password, :meth:`LoginThrottle.check`
counts the failures inside the window; at the limit it refuses with 429
``too_many_attempts`` and ``Retry-After`` (the seconds until the oldest failure
that matters leaves the window), without verifying anything. Because the rows are
in the database, every API process shares the counts. Two concurrent attempts may
both pass the check, so the limit can be exceeded by the number of processes'
simultaneous requests, never by more.

A successful sign-in forgets the account's failures (not the address's: signing in
to one's own account must not reset a guessing run against others). Rows older
than the window are deleted by :meth:`LoginThrottle.purge` (``launchpad db
purge-sessions``).

Sign-ups are throttled the same way by :class:`SignupThrottle`: each account
created writes a ``signup_attempts`` row for the client address in the same
transaction, and at ``LAUNCHPAD_SIGNUPS_PER_ADDRESS`` (5) of them within an hour
the next sign-up from that address is refused with 429 ``too_many_signups``
before any password is hashed. Refused and failed sign-ups (an email taken)
create nothing and count nothing.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from ..clock import Clock
from ..errors import TooManyAttemptsError, TooManySignupsError
from .models import LoginFailure, SignupAttempt, ThrottleScope

UNKNOWN_ADDRESS = "unknown"


@attrs.frozen
class ThrottlePolicy:
    """How many failures a window allows, per account and per client address."""

    per_account: int = 5
    per_address: int = 30
    window: timedelta = timedelta(minutes=15)

    def limit(self, scope: ThrottleScope) -> int:
        return self.per_account if scope is ThrottleScope.ACCOUNT else self.per_address


class LoginThrottle:
    def __init__(self, *, clock: Clock, policy: ThrottlePolicy = ThrottlePolicy()):
        self.clock = clock
        self.policy = policy

    def check(self, db: Session, *, email: str, address: str | None) -> None:
        """Raise :class:`TooManyAttemptsError` when the account or the address is at its limit."""
        now = self.clock()
        waits = [self._wait(db, scope, key, now) for scope, key in self._keys(email, address)]
        wait = max(waits)
        if wait > timedelta(0):
            raise TooManyAttemptsError(retry_after=math.ceil(wait.total_seconds()))

    def record_failure(self, db: Session, *, email: str, address: str | None) -> None:
        now = self.clock()
        db.add_all([LoginFailure(scope=scope, key=key, failed_at=now)
                    for scope, key in self._keys(email, address)])
        db.flush()

    def forget_account(self, db: Session, *, email: str) -> None:
        """After a successful sign-in: the account's failures no longer count."""
        db.execute(sa.delete(LoginFailure).where(LoginFailure.scope == ThrottleScope.ACCOUNT,
                                                 LoginFailure.key == email))

    def purge(self, db: Session) -> int:
        """Delete failures that left every window; returns how many."""
        result = db.execute(sa.delete(LoginFailure).where(
            LoginFailure.failed_at <= self.clock() - self.policy.window))
        return result.rowcount

    def _keys(self, email: str, address: str | None) -> list[tuple[ThrottleScope, str]]:
        return [(ThrottleScope.ACCOUNT, email), (ThrottleScope.ADDRESS, address_key(address))]

    def _wait(self, db: Session, scope: ThrottleScope, key: str, now: datetime) -> timedelta:
        return wait_in_window(db, LoginFailure.failed_at,
                              (LoginFailure.scope == scope, LoginFailure.key == key),
                              limit=self.policy.limit(scope), window=self.policy.window, now=now)


class SignupThrottle:
    """Accounts created per client address in a window (an hour)."""

    def __init__(self, *, clock: Clock, per_address: int = 5,
                 window: timedelta = timedelta(hours=1)):
        self.clock = clock
        self.per_address = per_address
        self.window = window

    def check(self, db: Session, *, address: str | None) -> None:
        """Raise :class:`TooManySignupsError` when ``address`` is at its limit."""
        wait = wait_in_window(db, SignupAttempt.attempted_at,
                              (SignupAttempt.address == address_key(address),),
                              limit=self.per_address, window=self.window, now=self.clock())
        if wait > timedelta(0):
            raise TooManySignupsError(
                f"{self.per_address} accounts were created from your address within "
                f"{_hours(self.window)}", retry_after=math.ceil(wait.total_seconds()))

    def record(self, db: Session, *, address: str | None) -> None:
        db.add(SignupAttempt(address=address_key(address), attempted_at=self.clock()))
        db.flush()

    def purge(self, db: Session) -> int:
        """Delete sign-ups that left the window; returns how many."""
        result = db.execute(sa.delete(SignupAttempt).where(
            SignupAttempt.attempted_at <= self.clock() - self.window))
        return result.rowcount


def address_key(address: str | None) -> str:
    return (address or UNKNOWN_ADDRESS)[:320]


def wait_in_window(db: Session, at: InstrumentedAttribute[datetime],
                   where: tuple[sa.ColumnElement[bool], ...], *, limit: int,
                   window: timedelta, now: datetime) -> timedelta:
    """How long until fewer than ``limit`` rows matching ``where`` have ``at`` inside
    the window ending ``now`` (0: there are fewer now)."""
    in_window = (*where, at > now - window)
    count = db.scalar(sa.select(sa.func.count()).select_from(at.class_).where(*in_window))
    if not count or count < limit:
        return timedelta(0)
    # The row whose leaving brings the count below the limit.
    pivot = db.scalar(sa.select(at).where(*in_window).order_by(at)
                      .offset(count - limit).limit(1))
    return max(pivot + window - now, timedelta(seconds=1))


def _hours(window: timedelta) -> str:
    hours = window.total_seconds() / 3600
    return "an hour" if hours == 1 else f"{hours:g} hours"
