"""Server-side sessions: opaque random tokens, stored only as their sha256.

A session ends when it has been idle longer than the idle lifetime, or when its
absolute lifetime (from sign-in) is over, whichever comes first.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..clock import Clock
from .models import AuthSession
from .schemas import UserView

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 64
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@attrs.frozen
class ActiveSession:
    id: str
    user: UserView


class SessionStore:
    def __init__(self, *, idle: timedelta, absolute: timedelta, clock: Clock):
        self.idle = idle
        self.absolute = absolute
        self.clock = clock

    def start(self, db: Session, *, user_id: uuid.UUID, ip: str | None,
              user_agent: str | None) -> str:
        """A new session for ``user_id``; returns the token (shown once, to the cookie)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self.clock()
        db.add(AuthSession(
            id=hash_token(token), user_id=user_id, created_at=now, last_seen_at=now,
            expires_at=now + self.absolute, ip=ip,
            user_agent=user_agent[:512] if user_agent else None,
        ))
        return token

    def resolve(self, db: Session, token: str) -> ActiveSession | None:
        """The live session ``token`` names, or None. Expired rows stay until
        :meth:`purge_expired` (the request that finds one usually fails and rolls back)."""
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        row = db.get(AuthSession, hash_token(token))
        if row is None:
            return None
        now = self.clock()
        if now >= row.expires_at or now >= row.last_seen_at + self.idle:
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            row.last_seen_at = now
        return ActiveSession(id=row.id, user=UserView.from_row(row.user))

    def end(self, db: Session, session_id: str) -> None:
        db.execute(sa.delete(AuthSession).where(AuthSession.id == session_id))

    def purge_expired(self, db: Session, *, user_id: uuid.UUID | None = None) -> int:
        """Delete every expired session, or only ``user_id``'s; returns how many.
        ``launchpad db purge-sessions`` purges all; each sign-in purges its user's."""
        now = self.clock()
        expired = (AuthSession.expires_at <= now) | (AuthSession.last_seen_at <= now - self.idle)
        if user_id is not None:
            expired = expired & (AuthSession.user_id == user_id)
        result = db.execute(sa.delete(AuthSession).where(expired))
        return result.rowcount

    def end_all(self, db: Session, user_id: uuid.UUID) -> None:
        """Sign a user out everywhere (password change, account deletion)."""
        db.execute(sa.delete(AuthSession).where(AuthSession.user_id == user_id))
