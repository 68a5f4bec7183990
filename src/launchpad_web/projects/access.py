"""Who may see and delete a project: the rules, in one place (as for templates).

* A user sees the projects they made and every project of the teams they belong to
  (a project belongs to the team of the template it was made from). Anyone else gets
  404 for its id, as for an id that does not exist.
* Its maker may delete it; in a team, so may the team's owners and admins. Other
  members get 403.
* A template's fleet lists the projects of that template the caller sees; for a
  team's template, only the team's projects.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from ..teams.access import visible_team_ids
from ..teams.models import TeamRole
from ..teams.policy import MANAGERS
from .models import Project


def visible_to(user_id: uuid.UUID) -> sa.ColumnElement[bool]:
    """A WHERE clause: the projects ``user_id`` may see."""
    return sa.or_(Project.user_id == user_id, Project.team_id.in_(visible_team_ids(user_id)))


def in_fleet(template_id: uuid.UUID, team_id: uuid.UUID | None,
             user_id: uuid.UUID) -> sa.ColumnElement[bool]:
    """A WHERE clause: the projects of a template's fleet ``user_id`` may see."""
    clause = sa.and_(Project.template_id == template_id, visible_to(user_id))
    return clause if team_id is None else sa.and_(clause, Project.team_id == team_id)


def may_delete(maker_id: uuid.UUID, team_id: uuid.UUID | None, user_id: uuid.UUID,
               role: TeamRole | None) -> bool:
    """Delete a project; ``role`` is the user's in its team, if any."""
    return maker_id == user_id or (team_id is not None and role in MANAGERS)
