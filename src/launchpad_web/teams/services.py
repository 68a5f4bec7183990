"""Team use cases on an injected session; they flush, never commit.

Every method takes the acting user's id and first asks their role
(:func:`~launchpad_web.teams.access.team_role`): not a member is 404, exactly as
for a team that does not exist, so ids of other people's teams reveal nothing;
a member without the right gets 403 (rules in :mod:`launchpad_web.teams.policy`).
Changes to memberships lock the team's row first (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite serialises writers anyway), so two owners stepping down at once
cannot leave a team without one.

Who sees a team's templates changes with its memberships: every change tells the
template list cache (:meth:`~launchpad_web.templates.cache.TemplateListCache.lists_changed`)
whose lists change, when there is a cache.

Invitations need the invited person's consent. :meth:`TeamService.invite` makes a
pending invitation for an email, whether or not an account has it (the answer is
the same either way, so it tells nothing about who is registered), with a random
token of which only the sha256 is stored; the token travels in a ``team_invitation``
notice (an email) to that address only. Inviting the same email again replaces the
invitation, and the old link stops working. With the link, a signed-in user whose
account email is the invited one reads (:meth:`TeamService.invitation`), accepts
(:meth:`TeamService.accept`: joins in the invited role) or declines it; anyone else
gets 403 ``invitation_for_another_email``. Accounts do not join at sign-up. An
invitation expires after 7 days (410 ``invitation_expired``); owners and admins list
and revoke the pending ones.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..accounts.models import User, UserRole
from ..billing.quotas import Quotas
from ..clock import Clock
from ..emails import Email
from ..errors import (
    AlreadyMemberError,
    ForbiddenError,
    InvitationExpiredError,
    InvitationForAnotherEmailError,
    InvitationNotFoundError,
    LastOwnerError,
    NotFoundError,
    ValidationFailedError,
)
from ..notifications import Notice
from . import policy
from .access import team_role, visible_team_ids
from .models import Team, TeamInvitation, TeamMembership, TeamRole
from .schemas import (
    NAME_MAX,
    InvitationDetailView,
    InvitationView,
    MemberView,
    TeamDetailView,
    TeamView,
)

if TYPE_CHECKING:
    from ..templates.cache import ListPages

INVITATION_TTL = timedelta(days=7)
INVITATION_NOTICE = "team_invitation"


@attrs.frozen
class Invited:
    """A new invitation, and the notice carrying its link to the invited address."""

    invitation: InvitationView
    notice: Notice


class TeamService:
    def __init__(self, *, quotas: Quotas, clock: Clock,
                 invitation_ttl: timedelta = INVITATION_TTL,
                 template_lists: ListPages | None = None,
                 public_url: str = "http://127.0.0.1:8000"):
        self.quotas = quotas
        self.clock = clock
        self.invitation_ttl = invitation_ttl
        self.template_lists = template_lists
        self.public_url = public_url

    # -- teams ---------------------------------------------------------------------
    def list(self, db: Session, *, user_id: uuid.UUID) -> list[TeamView]:
        rows = db.execute(
            sa.select(Team, TeamMembership.role)
            .join(TeamMembership, TeamMembership.team_id == Team.id)
            .where(TeamMembership.user_id == user_id)
            .order_by(Team.name, Team.id)
        )
        return [TeamView.from_row(team, role) for team, role in rows]

    def create(self, db: Session, *, user_id: uuid.UUID, name: str) -> TeamView:
        name = clean_name(name)
        self.quotas.check_team_create(db, user_id=user_id)
        now = self.clock()
        team = Team(name=name, owner_id=user_id, created_at=now, updated_at=now)
        db.add(team)
        db.flush()
        db.add(TeamMembership(team_id=team.id, user_id=user_id, role=TeamRole.OWNER,
                              joined_at=now))
        db.flush()
        return TeamView.from_row(team, TeamRole.OWNER)

    def get(self, db: Session, *, team_id: uuid.UUID, user_id: uuid.UUID) -> TeamDetailView:
        role = self._role(db, team_id, user_id)
        team = TeamView.from_row(db.get_one(Team, team_id), role)
        rows = db.execute(
            sa.select(TeamMembership, User.email)
            .join(User, User.id == TeamMembership.user_id)
            .where(TeamMembership.team_id == team_id)
            .order_by(TeamMembership.joined_at, User.email)
        )
        return TeamDetailView.of(team, tuple(MemberView.from_row(m, email) for m, email in rows))

    def rename(self, db: Session, *, team_id: uuid.UUID, user_id: uuid.UUID,
               name: str) -> TeamView:
        role = self._role(db, team_id, user_id, allowed=policy.may_manage_team)
        name = clean_name(name)
        team = db.get_one(Team, team_id)
        team.name = name
        team.updated_at = self.clock()
        db.flush()
        return TeamView.from_row(team, role)

    def delete(self, db: Session, *, team_id: uuid.UUID, user_id: uuid.UUID) -> None:
        """The team and, by the schema's cascades, its memberships, invitations and templates."""
        self._role(db, team_id, user_id, allowed=policy.may_delete_team, lock=True)
        members = member_ids(db, [team_id])
        db.execute(sa.delete(Team).where(Team.id == team_id))
        db.expire_all()
        for member_id in members:
            sync_member_role(db, member_id)
        self._lists_change(db, members)

    # -- members -------------------------------------------------------------------
    def remove_member(self, db: Session, *, team_id: uuid.UUID, user_id: uuid.UUID,
                      member_id: uuid.UUID) -> None:
        """``user_id`` removes ``member_id`` (themselves: they leave)."""
        actor = self._role(db, team_id, user_id, lock=True)
        target = self._membership(db, team_id, member_id)
        if not policy.may_remove(actor, target.role, oneself=user_id == member_id):
            raise ForbiddenError(f"a team {actor} cannot remove a team {target.role}")
        self._keep_an_owner(db, target)
        db.delete(target)
        db.flush()
        self._settle_primary_owner(db, team_id)
        sync_member_role(db, member_id)
        self._lists_change(db, [member_id])

    def change_role(self, db: Session, *, team_id: uuid.UUID, user_id: uuid.UUID,
                    member_id: uuid.UUID, role: TeamRole) -> MemberView:
        actor = self._role(db, team_id, user_id, lock=True)
        target = self._membership(db, team_id, member_id)
        if not policy.may_change_role(actor, target.role, role, oneself=user_id == member_id):
            raise ForbiddenError(f"a team {actor} cannot make a team {target.role} {role}",
                                 field="$.role")
        if role is not TeamRole.OWNER:
            self._keep_an_owner(db, target)
        target.role = role
        db.flush()
        self._settle_primary_owner(db, team_id)
        return MemberView.from_row(target, db.get_one(User, member_id).email)

    # -- invitations -----------------------------------------------------------------
    def invite(self, db: Session, *, team_id: uuid.UUID, user_id: uuid.UUID, email: Email,
               role: TeamRole) -> Invited:
        """A pending invitation for ``email`` (an earlier one not accepted is replaced),
        whether or not an account has that email; 409 when a member has it."""
        actor = self._role(db, team_id, user_id, allowed=policy.may_manage_team, lock=True)
        self._check_grant(actor, role)
        member = db.scalar(sa.select(TeamMembership.id).join(
            User, User.id == TeamMembership.user_id).where(
                TeamMembership.team_id == team_id, User.email == email))
        if member is not None:
            raise AlreadyMemberError(field="$.email")
        earlier = db.scalars(sa.select(TeamInvitation).where(
            TeamInvitation.team_id == team_id, TeamInvitation.email == email,
            TeamInvitation.accepted_at.is_(None))).all()
        for old in earlier:
            self._check_grant(actor, old.role)
            db.delete(old)
        db.flush()
        now = self.clock()
        token = secrets.token_urlsafe(32)
        invitation = TeamInvitation(team_id=team_id, email=email, role=role, invited_by=user_id,
                                    token_hash=token_hash(token), created_at=now,
                                    expires_at=now + self.invitation_ttl)
        db.add(invitation)
        db.flush()
        return Invited(InvitationView.from_row(invitation),
                       self._notice(db, invitation, token))

    def _notice(self, db: Session, invitation: TeamInvitation, token: str) -> Notice:
        team = db.get_one(Team, invitation.team_id)
        inviter = db.scalar(sa.select(User.email).where(User.id == invitation.invited_by))
        link = f"{self.public_url}/invitations/{token}"  # the page; the API has /api/...
        return Notice(
            kind=INVITATION_NOTICE, recipient=invitation.email,
            subject=f"{inviter} invites you to the team {team.name} on LaunchPad",
            message=(f"{inviter} invites you to join the team {team.name} as {invitation.role}."
                     f"\n\nSign in (or sign up) with this email address, then accept or "
                     f"decline:\n{link}\n\nThe invitation expires on "
                     f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC. If you did not expect it, "
                     "ignore this email.\n"))

    def invitations(self, db: Session, *, team_id: uuid.UUID,
                    user_id: uuid.UUID) -> list[InvitationView]:
        """The pending (not accepted, not expired) invitations, oldest first."""
        self._role(db, team_id, user_id, allowed=policy.may_manage_team)
        rows = db.scalars(self._pending(team_id, self.clock()).order_by(
            TeamInvitation.created_at, TeamInvitation.id))
        return [InvitationView.from_row(row) for row in rows]

    def revoke(self, db: Session, *, team_id: uuid.UUID, user_id: uuid.UUID,
               invitation_id: uuid.UUID) -> None:
        """Delete an invitation not accepted yet (expired or not)."""
        actor = self._role(db, team_id, user_id, allowed=policy.may_manage_team)
        invitation = db.scalar(sa.select(TeamInvitation).where(
            TeamInvitation.id == invitation_id, TeamInvitation.team_id == team_id,
            TeamInvitation.accepted_at.is_(None)))
        if invitation is None:
            raise NotFoundError("no such invitation")
        self._check_grant(actor, invitation.role)
        db.delete(invitation)
        db.flush()

    # -- the invited person ----------------------------------------------------------
    def invitation(self, db: Session, *, token: str, user_id: uuid.UUID) -> InvitationDetailView:
        """What the link ``token`` invites ``user_id`` to (it must be the invited email's)."""
        invitation = self._invitation_for(db, token, user_id)
        team = db.get_one(Team, invitation.team_id)
        inviter = db.scalar(sa.select(User.email).where(User.id == invitation.invited_by))
        return InvitationDetailView(team_id=team.id, team_name=team.name, role=invitation.role,
                                    email=invitation.email, invited_by_email=inviter,
                                    expires_at=invitation.expires_at)

    def accept(self, db: Session, *, token: str, user_id: uuid.UUID) -> TeamView:
        """``user_id`` joins the team in the invited role; the invitation is used up."""
        invitation = self._invitation_for(db, token, user_id)
        db.execute(sa.select(Team.id).where(Team.id == invitation.team_id).with_for_update())
        if team_role(db, invitation.team_id, user_id) is not None:
            raise AlreadyMemberError()
        now = self.clock()
        db.add(TeamMembership(team_id=invitation.team_id, user_id=user_id,
                              role=invitation.role, joined_at=now))
        invitation.accepted_at = now
        db.flush()
        sync_member_role(db, user_id)
        self._lists_change(db, [user_id])
        return TeamView.from_row(db.get_one(Team, invitation.team_id), invitation.role)

    def decline(self, db: Session, *, token: str, user_id: uuid.UUID) -> None:
        """The invitation is deleted; the team may invite again."""
        db.delete(self._invitation_for(db, token, user_id))
        db.flush()

    def _invitation_for(self, db: Session, token: str, user_id: uuid.UUID) -> TeamInvitation:
        """The pending invitation of ``token``: 404 unknown (or answered, replaced, revoked),
        403 for another email than ``user_id``'s, 410 expired."""
        invitation = db.scalar(sa.select(TeamInvitation).where(
            TeamInvitation.token_hash == token_hash(token),
            TeamInvitation.accepted_at.is_(None)))
        if invitation is None:
            raise InvitationNotFoundError()
        if db.scalar(sa.select(User.email).where(User.id == user_id)) != invitation.email:
            raise InvitationForAnotherEmailError()
        if invitation.expires_at <= self.clock():
            raise InvitationExpiredError()
        return invitation

    # -- helpers -------------------------------------------------------------------
    def _lists_change(self, db: Session, user_ids: Iterable[uuid.UUID]) -> None:
        if self.template_lists is not None:
            self.template_lists.lists_changed(db, user_ids)

    def _role(self, db: Session, team_id: uuid.UUID, user_id: uuid.UUID, *,
              allowed: Callable[[TeamRole], bool] | None = None, lock: bool = False) -> TeamRole:
        """The caller's role: 404 when not a member, 403 when ``allowed`` says no."""
        role = team_role(db, team_id, user_id)
        if role is not None and lock:
            db.execute(sa.select(Team.id).where(Team.id == team_id).with_for_update())
            role = team_role(db, team_id, user_id)
        if role is None:
            raise NotFoundError("no such team")
        if allowed is not None and not allowed(role):
            raise ForbiddenError(f"a team {role} cannot do this")
        return role

    @staticmethod
    def _check_grant(actor: TeamRole, role: TeamRole) -> None:
        if not policy.may_grant(actor, role):
            raise ForbiddenError(f"a team {actor} cannot grant the {role} role", field="$.role")

    @staticmethod
    def _membership(db: Session, team_id: uuid.UUID, member_id: uuid.UUID) -> TeamMembership:
        membership = db.scalar(sa.select(TeamMembership).where(
            TeamMembership.team_id == team_id, TeamMembership.user_id == member_id))
        if membership is None:
            raise NotFoundError("no such member in this team")
        return membership

    @staticmethod
    def _keep_an_owner(db: Session, target: TeamMembership) -> None:
        """409 ``last_owner`` when ``target`` is the team's only owner."""
        if target.role is not TeamRole.OWNER:
            return
        owners = db.scalar(sa.select(sa.func.count()).where(
            TeamMembership.team_id == target.team_id, TeamMembership.role == TeamRole.OWNER))
        if owners <= 1:
            raise LastOwnerError()

    @staticmethod
    def _settle_primary_owner(db: Session, team_id: uuid.UUID) -> None:
        """Keep ``teams.owner_id`` an owner: the longest-standing one takes over."""
        team = db.get_one(Team, team_id)
        if team_role(db, team_id, team.owner_id) is TeamRole.OWNER:
            return
        team.owner_id = db.scalars(_owners_by_seniority(team_id)).first()
        db.flush()

    @staticmethod
    def _pending(team_id: uuid.UUID, now: datetime) -> sa.Select[tuple[TeamInvitation]]:
        return sa.select(TeamInvitation).where(
            TeamInvitation.team_id == team_id, TeamInvitation.accepted_at.is_(None),
            TeamInvitation.expires_at > now)


def _owners_by_seniority(team_id: Any) -> sa.Select[tuple[uuid.UUID]]:
    """The team's owners, longest-standing first: who becomes primary owner."""
    return (sa.select(TeamMembership.user_id)
            .where(TeamMembership.team_id == team_id, TeamMembership.role == TeamRole.OWNER)
            .order_by(TeamMembership.joined_at, TeamMembership.user_id))


def leave_with_account(template_lists: ListPages | None
                       ) -> Callable[[Session, uuid.UUID], Callable[[], None]]:
    """An account deletion step (:class:`~launchpad_web.accounts.services.AccountDeletion`):
    its templates leave its teams' lists, its teams pass on (:func:`hand_over_teams`),
    and once it is gone the members of the teams that went with it get their role back."""
    def leave(db: Session, user_id: uuid.UUID) -> Callable[[], None]:
        if template_lists is not None:
            template_lists.lists_changed(db, co_member_ids(db, user_id))
        hand_over_teams(db, user_id)
        orphaned = set(db.scalars(sa.select(TeamMembership.user_id).join(
            Team, Team.id == TeamMembership.team_id).where(
                Team.owner_id == user_id, TeamMembership.user_id != user_id)).all())

        def give_roles_back() -> None:
            for member_id in orphaned:
                sync_member_role(db, member_id)

        return give_roles_back

    return leave


def hand_over_teams(db: Session, user_id: uuid.UUID) -> None:
    """Before ``user_id``'s account goes: each team it is primary owner of passes to its
    longest-standing other owner; a team with no other owner keeps it (and goes too)."""
    successor = (_owners_by_seniority(Team.id).where(TeamMembership.user_id != user_id)
                 .limit(1).scalar_subquery())
    db.execute(sa.update(Team).where(Team.owner_id == user_id)
               .values(owner_id=sa.func.coalesce(successor, Team.owner_id))
               .execution_options(synchronize_session=False))


def clean_name(name: str) -> str:
    """A team name stripped, 1 to ``NAME_MAX`` characters, or 422 on ``$.name``."""
    name = name.strip()
    if not name:
        raise ValidationFailedError.one("blank", "a team name cannot be blank", "$.name")
    if len(name) > NAME_MAX:
        raise ValidationFailedError.one(
            "too_long", f"a team name has at most {NAME_MAX} characters", "$.name")
    return name


def member_ids(db: Session, team_ids: Iterable[uuid.UUID], *,
               exclusive: bool = False) -> set[uuid.UUID]:
    """Every member of these teams, read once their rows are locked (on PostgreSQL:
    ``FOR SHARE``, or ``FOR UPDATE`` when ``exclusive``, for a caller that changes
    memberships) until the caller's transaction ends, so nobody joins or leaves them
    meanwhile: what the caller changes in these teams concerns exactly these users.
    Two statements: a locking read waits, but its snapshot would not see who joined."""
    ids = sorted(set(team_ids))
    if not ids:
        return set()
    db.execute(sa.select(Team.id).where(Team.id.in_(ids)).order_by(Team.id)
               .with_for_update(read=not exclusive))
    return set(db.scalars(sa.select(TeamMembership.user_id)
                          .where(TeamMembership.team_id.in_(ids))))


def co_member_ids(db: Session, user_id: uuid.UUID) -> set[uuid.UUID]:
    """``user_id`` and every member of its teams, the teams locked as by
    :func:`member_ids` (``exclusive``): whose template lists change when it goes."""
    teams = db.scalars(visible_team_ids(user_id)).all()
    return {user_id, *member_ids(db, teams, exclusive=True)}


def sync_member_role(db: Session, user_id: uuid.UUID) -> None:
    """``users.role`` of a user without a paid plan: ``team_member`` while in a team,
    ``free`` again outside every team (paid plans' roles are billing's)."""
    user = db.get(User, user_id)
    if user is None or user.role not in (UserRole.FREE, UserRole.TEAM_MEMBER):
        return
    in_a_team = db.scalar(sa.select(sa.exists().where(TeamMembership.user_id == user_id)))
    user.role = UserRole.TEAM_MEMBER if in_a_team else UserRole.FREE
    db.flush()


def token_hash(token: str) -> str:
    """What is stored of an invitation link's token: its sha256 (hex)."""
    return hashlib.sha256(token.encode()).hexdigest()
