"""Who may see and manage what: the one place team membership is asked about.

Every domain that stores team-owned rows (templates, jobs, usage) filters with
:func:`visible_team_ids` and authorises with :func:`team_role`; nothing else
queries ``team_memberships`` directly. The teams domain owns this module and may
refine its body; the signatures are a contract other domains rely on.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .models import TeamMembership, TeamRole


def visible_team_ids(user_id: uuid.UUID) -> sa.Select[tuple[uuid.UUID]]:
    """A sub-select of the ids of every team ``user_id`` belongs to, in any role."""
    return sa.select(TeamMembership.team_id).where(TeamMembership.user_id == user_id)


def team_role(db: Session, team_id: uuid.UUID, user_id: uuid.UUID) -> TeamRole | None:
    """``user_id``'s role in ``team_id``, or None when not a member (or no such team)."""
    return db.scalar(
        sa.select(TeamMembership.role).where(
            TeamMembership.team_id == team_id, TeamMembership.user_id == user_id
        )
    )
