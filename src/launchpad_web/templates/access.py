"""Who may see and change a template: the rules, in one place.

* A user sees the templates they own and every template of the teams they belong
  to (any role). Anyone else gets 404 for its id, as for an id that does not exist.
* The owner (who created it) may change and delete it; in a team, so may the team's
  owners and admins. Other team members may read and preview it, and get 403 when
  they try to change or delete it.
* Creating a template in a team needs membership (any role) and the team owner's plan.

The generation-jobs domain uses :func:`visible_to` for the same visibility.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from ..teams.access import visible_team_ids
from ..teams.models import TeamRole
from ..teams.policy import MANAGERS
from .models import TemplateRecord


def visible_to(user_id: uuid.UUID) -> sa.ColumnElement[bool]:
    """A WHERE clause: the templates ``user_id`` may see."""
    return sa.or_(
        TemplateRecord.owner_id == user_id,
        TemplateRecord.team_id.in_(visible_team_ids(user_id)),
    )


def may_change(row: TemplateRecord, user_id: uuid.UUID, role: TeamRole | None) -> bool:
    """Save a version of or delete ``row``; ``role`` is the user's in its team, if any."""
    return row.owner_id == user_id or (row.team_id is not None and role in MANAGERS)
