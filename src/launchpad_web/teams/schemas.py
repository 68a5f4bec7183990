"""Request bodies and value objects of the teams domain (what the API reads and answers)."""

from __future__ import annotations

import uuid
from datetime import datetime

import attrs

from ..emails import Email
from .models import Team, TeamInvitation, TeamMembership, TeamRole

NAME_MAX = 100


@attrs.frozen
class TeamRequest:
    """Create or rename a team: only the name can be chosen (stripped, 1-100 characters)."""

    name: str


@attrs.frozen
class InviteRequest:
    email: Email
    role: TeamRole = TeamRole.MEMBER


@attrs.frozen
class RoleRequest:
    role: TeamRole


@attrs.frozen
class TeamView:
    """A team as one of its members sees it in a list: with that member's ``role``."""

    id: uuid.UUID
    name: str
    owner_id: uuid.UUID
    role: TeamRole
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Team, role: TeamRole) -> TeamView:
        return cls(id=row.id, name=row.name, owner_id=row.owner_id, role=role,
                   created_at=row.created_at, updated_at=row.updated_at)


@attrs.frozen
class TeamListView:
    teams: tuple[TeamView, ...]


@attrs.frozen
class MemberView:
    user_id: uuid.UUID
    email: str
    role: TeamRole
    joined_at: datetime

    @classmethod
    def from_row(cls, row: TeamMembership, email: str) -> MemberView:
        return cls(user_id=row.user_id, email=email, role=row.role, joined_at=row.joined_at)


@attrs.frozen
class TeamDetailView(TeamView):
    """A team with its members, for one of them (``role`` is the caller's)."""

    members: tuple[MemberView, ...]

    @classmethod
    def of(cls, team: TeamView, members: tuple[MemberView, ...]) -> TeamDetailView:
        return cls(members=members, **attrs.asdict(team, recurse=False))


@attrs.frozen
class InvitationView:
    id: uuid.UUID
    email: str
    role: TeamRole
    invited_by: uuid.UUID | None
    created_at: datetime
    expires_at: datetime

    @classmethod
    def from_row(cls, row: TeamInvitation) -> InvitationView:
        return cls(id=row.id, email=row.email, role=row.role, invited_by=row.invited_by,
                   created_at=row.created_at, expires_at=row.expires_at)


@attrs.frozen
class InvitationListView:
    invitations: tuple[InvitationView, ...]


@attrs.frozen
class InvitationDetailView:
    """An invitation as the invited person sees it through its link: which team, who
    invited, in which role, until when."""

    team_id: uuid.UUID
    team_name: str
    role: TeamRole
    email: str
    invited_by_email: str | None
    expires_at: datetime
