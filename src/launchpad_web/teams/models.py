"""Tables of the teams domain: teams, team_memberships, team_invitations."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, HasId, HasTimestamps, utc_now


class TeamRole(enum.StrEnum):
    """A member's rights in a team (see :mod:`launchpad_web.teams.policy`)."""

    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"


class Team(HasId, HasTimestamps, Base):
    """A team. Its owners are the memberships with role ``owner``; ``owner_id`` is the
    primary one (the creator, or the longest-standing owner once the creator steps down)."""

    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(sa.String(100))
    owner_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )


class TeamMembership(HasId, Base):
    __tablename__ = "team_memberships"
    __table_args__ = (sa.UniqueConstraint("team_id", "user_id"),)

    team_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[TeamRole] = mapped_column(default=TeamRole.MEMBER)
    joined_at: Mapped[datetime] = mapped_column(default=utc_now)


class TeamInvitation(HasId, Base):
    """A pending invitation by email, until the person with that email accepts it
    (``accepted_at``) or declines it (the row goes), before ``expires_at``.
    ``token_hash`` is the sha256 (hex) of the random token of the link mailed to
    the invited address; the token itself is never stored."""

    __tablename__ = "team_invitations"

    team_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("teams.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(sa.String(320), index=True)
    role: Mapped[TeamRole] = mapped_column(default=TeamRole.MEMBER)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
