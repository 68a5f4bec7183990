"""Tables of the accounts domain: users, sessions, api_tokens, login_failures,
signup_attempts."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, HasId, HasTimestamps

#: ``users.hashed_password`` of an account that has no password (it signs in with a forge)
NO_PASSWORD = ""


class UserRole(enum.StrEnum):
    FREE = "free"
    PRO = "pro"
    TEAM_OWNER = "team_owner"
    TEAM_MEMBER = "team_member"


class User(HasId, HasTimestamps, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    #: :data:`NO_PASSWORD` for an account made by signing in with a forge, until one is set
    hashed_password: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[UserRole] = mapped_column(default=UserRole.FREE)


class AuthSession(Base):
    """A signed-in browser. ``id`` is the sha256 (hex) of the opaque cookie token."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(512))

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(HasId, Base):
    """A named bearer token; only its sha256 (hex) is stored."""

    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]


class ThrottleScope(enum.StrEnum):
    ACCOUNT = "account"
    ADDRESS = "address"


class LoginFailure(HasId, Base):
    """One failed sign-in, counted against an account (``key`` is the email, known
    or not) or a client address (``key`` is the IP); a failure writes one of each."""

    __tablename__ = "login_failures"
    __table_args__ = (
        sa.Index("ix_login_failures_scope_key_failed_at", "scope", "key", "failed_at"),
    )

    scope: Mapped[ThrottleScope]
    key: Mapped[str] = mapped_column(sa.String(320))
    failed_at: Mapped[datetime] = mapped_column(index=True)


class SignupAttempt(HasId, Base):
    """One account created from a client address (``REMOTE_ADDR``), counted by the
    sign-up throttle (:class:`~launchpad_web.accounts.throttling.SignupThrottle`)."""

    __tablename__ = "signup_attempts"
    __table_args__ = (
        sa.Index("ix_signup_attempts_address_attempted_at", "address", "attempted_at"),
    )

    address: Mapped[str] = mapped_column(sa.String(320))
    attempted_at: Mapped[datetime] = mapped_column(index=True)
