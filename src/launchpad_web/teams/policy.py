"""Who may do what inside a team: pure rules on roles, no database.

* Every member sees the team and its members, and may leave it.
* Owners and admins rename the team, invite people and see or revoke invitations.
* Owners manage everyone; admins manage members only: they add, remove and
  invite members, and neither promote anyone nor touch an owner or another admin.
* Only owners grant the owner role, and only owners delete the team.
* Anyone may step down (lower their own role), never up.
* A team keeps at least one owner (checked by the service: ``last_owner``).
"""

from __future__ import annotations

from .models import TeamRole

RANK = {TeamRole.MEMBER: 0, TeamRole.ADMIN: 1, TeamRole.OWNER: 2}
MANAGERS = frozenset({TeamRole.OWNER, TeamRole.ADMIN})


def may_manage_team(actor: TeamRole) -> bool:
    """Rename the team, invite, list and revoke invitations."""
    return actor in MANAGERS


def may_delete_team(actor: TeamRole) -> bool:
    return actor is TeamRole.OWNER


def may_grant(actor: TeamRole, role: TeamRole) -> bool:
    """Give ``role`` to someone else (by invitation or a role change)."""
    return actor is TeamRole.OWNER or (actor is TeamRole.ADMIN and role is TeamRole.MEMBER)


def may_remove(actor: TeamRole, target: TeamRole, *, oneself: bool) -> bool:
    """Remove a member whose role is ``target`` (``oneself``: leave)."""
    return oneself or may_grant(actor, target)


def may_change_role(actor: TeamRole, target: TeamRole, new: TeamRole, *, oneself: bool) -> bool:
    """Change a ``target`` member's role to ``new``."""
    if oneself:
        return RANK[new] <= RANK[target]
    return may_grant(actor, target) and may_grant(actor, new)
