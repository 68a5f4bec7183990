"""Forgotten passwords: a single-use link by email, only when the service can send email.

:meth:`PasswordResets.request` answers the same, and does the same database work,
whether or not the email has an account: a ``password_resets`` row is written either
way (``user_id`` null for an unknown email), and a :class:`Notice` with the link
comes back only for an account, for the caller to send after its commit, off the
request thread, so neither the answer nor its timing tells who has an account.
Requests are limited per client address (``429 too_many_reset_requests``, which
says nothing about the email) and per email (past the limit nothing more is sent,
silently).

The link carries a random token; only its sha256 is stored. It expires after
:data:`LIFETIME` and is used at most once: :meth:`PasswordResets.reset` marks it used
in the same statement that finds it live, and using one link spends every other
link of that account. A reset ends every session of the account and forgets its
failed sign-ins.
"""

from __future__ import annotations

import math
import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..clock import Clock
from ..emails import Email
from ..errors import InvalidResetTokenError, TooManyResetRequestsError
from ..notifications import Notice
from .models import PasswordReset, User
from .passwords import Passwords
from .schemas import UserView
from .sessions import MAX_TOKEN_LENGTH, TOKEN_BYTES, SessionStore, hash_token
from .throttling import LoginThrottle, address_key, wait_in_window

LIFETIME = timedelta(hours=1)
WINDOW = timedelta(hours=1)
PER_ADDRESS = 10
PER_EMAIL = 3
RESET_PAGE = "/password/reset"
MESSAGE = """Someone (we hope you) asked to reset the password of your LaunchPad account.

Choose a new password here within {minutes} minutes:

{link}

The link works once. If you did not ask for it, ignore this email: your password
stays as it is.
"""


class PasswordResets:
    def __init__(self, *, passwords: Passwords, sessions: SessionStore,
                 throttle: LoginThrottle, clock: Clock, public_url: str):
        self.passwords = passwords
        self.sessions = sessions
        self.throttle = throttle
        self.clock = clock
        self.public_url = public_url.rstrip("/")

    def request(self, db: Session, *, email: Email, address: str | None) -> Notice | None:
        """Record the request; the email to send, or None (no account, or too many)."""
        now = self.clock()
        address = address_key(address)
        wait = wait_in_window(db, PasswordReset.requested_at, (PasswordReset.address == address,),
                              limit=PER_ADDRESS, window=WINDOW, now=now)
        if wait > timedelta(0):
            raise TooManyResetRequestsError(
                f"{PER_ADDRESS} password resets were asked from your address within an hour",
                retry_after=math.ceil(wait.total_seconds()))
        flooded = wait_in_window(db, PasswordReset.requested_at, (PasswordReset.email == email,),
                                 limit=PER_EMAIL, window=WINDOW, now=now) > timedelta(0)
        user_id = db.scalar(sa.select(User.id).where(User.email == email))
        token = secrets.token_urlsafe(TOKEN_BYTES)
        db.add(PasswordReset(token_hash=hash_token(token), user_id=None if flooded else user_id,
                             email=email, address=address, requested_at=now,
                             expires_at=now + LIFETIME))
        db.flush()
        if user_id is None or flooded:
            return None
        link = f"{self.public_url}{RESET_PAGE}/{token}"
        return Notice(kind="password_reset", recipient=email,
                      subject="Reset your LaunchPad password",
                      message=MESSAGE.format(link=link,
                                             minutes=int(LIFETIME.total_seconds() // 60)))

    def is_live(self, db: Session, token: str) -> bool:
        """Whether ``token`` can still reset a password (the page shows the form)."""
        return db.scalar(sa.select(PasswordReset.id).where(*self._live(token))) is not None

    def reset(self, db: Session, *, token: str, new_password: str) -> UserView:
        """Set the password of the link's account and spend the link (400
        ``invalid_reset_token`` when it is not live)."""
        self.passwords.check_policy(new_password, field="$.new_password")
        now = self.clock()
        user_id = db.execute(sa.update(PasswordReset).where(*self._live(token))
                             .values(used_at=now).returning(PasswordReset.user_id)).scalar()
        if user_id is None:
            raise InvalidResetTokenError("ask for a new link", field="$.token")
        user = db.get_one(User, user_id)
        user.hashed_password = self.passwords.hash(new_password)
        user.updated_at = now
        db.execute(sa.update(PasswordReset).where(PasswordReset.user_id == user_id,
                                                  PasswordReset.used_at.is_(None))
                   .values(used_at=now))
        self.sessions.end_all(db, user_id)
        self.throttle.forget_account(db, email=user.email)
        return UserView.from_row(user)

    def _live(self, token: str) -> tuple[sa.ColumnElement[bool], ...]:
        digest = hash_token(token[:MAX_TOKEN_LENGTH + 1])
        return (PasswordReset.token_hash == digest, PasswordReset.used_at.is_(None),
                PasswordReset.expires_at > self.clock(), PasswordReset.user_id.is_not(None))


def purge_resets(db: Session, clock: Clock) -> int:
    """Delete requests past both their link's life and the counting window; how many."""
    result = db.execute(sa.delete(PasswordReset).where(
        PasswordReset.requested_at <= clock() - max(LIFETIME, WINDOW)))
    return result.rowcount
