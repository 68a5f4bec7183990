"""HTTP nouns of the teams domain: teams, their members and invitations.

An invitation's notice (the email with its link) is sent after the request's
transaction committed. ``/api/invitations/{invitation_token}`` is the link: the
invited person reads, accepts or declines there.
"""

from __future__ import annotations

import uuid

import falcon

from ..accounts.auth import current_user, require_user
from ..converter import unstructure
from ..notifications import Notifier
from ..openapi import Route, operation
from ..request_bodies import read_json
from .schemas import (
    InvitationDetailView,
    InvitationListView,
    InvitationView,
    InviteRequest,
    MemberView,
    RoleRequest,
    TeamDetailView,
    TeamListView,
    TeamRequest,
    TeamView,
)
from .services import TeamService


class TeamsResource:
    def __init__(self, teams: TeamService):
        self.teams = teams

    @operation("The teams I belong to, with my role in each",
               responses={200: TeamListView}, auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        teams = self.teams.list(req.context.db, user_id=current_user(req).id)
        resp.media = unstructure(TeamListView(tuple(teams)))

    @operation("Create a team; I become its owner", request=TeamRequest,
               responses={201: TeamView}, problems=(402, 403), auth=True)
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, TeamRequest)
        team = self.teams.create(req.context.db, user_id=current_user(req).id, name=body.name)
        resp.status = falcon.HTTP_201
        resp.media = unstructure(team)


class TeamResource:
    def __init__(self, teams: TeamService):
        self.teams = teams

    @operation("A team and its members", responses={200: TeamDetailView},
               problems=(404,), auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, team_id: uuid.UUID) -> None:
        team = self.teams.get(req.context.db, team_id=team_id, user_id=current_user(req).id)
        resp.media = unstructure(team)

    @operation("Rename a team (owners and admins)", request=TeamRequest,
               responses={200: TeamView}, problems=(403, 404), auth=True)
    @falcon.before(require_user)
    def on_patch(self, req: falcon.Request, resp: falcon.Response, team_id: uuid.UUID) -> None:
        body = read_json(req, TeamRequest)
        team = self.teams.rename(req.context.db, team_id=team_id, user_id=current_user(req).id,
                                 name=body.name)
        resp.media = unstructure(team)

    @operation("Delete a team with its templates (owners)", responses={204: None},
               problems=(403, 404), auth=True)
    @falcon.before(require_user)
    def on_delete(self, req: falcon.Request, resp: falcon.Response, team_id: uuid.UUID) -> None:
        self.teams.delete(req.context.db, team_id=team_id, user_id=current_user(req).id)
        resp.status = falcon.HTTP_204


class InviteResource:
    def __init__(self, teams: TeamService, notifier: Notifier):
        self.teams = teams
        self.notifier = notifier

    @operation("Invite by email: a link is mailed to the address, where its owner accepts "
               "or declines (the same answer whether or not it has an account)",
               request=InviteRequest, responses={201: InvitationView},
               problems=(403, 404, 409), auth=True)
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, team_id: uuid.UUID) -> None:
        body = read_json(req, InviteRequest)
        invited = self.teams.invite(req.context.db, team_id=team_id,
                                    user_id=current_user(req).id, email=body.email,
                                    role=body.role)
        req.context.db.commit()
        self.notifier.send(invited.notice)
        resp.status = falcon.HTTP_201
        resp.media = unstructure(invited.invitation)


class InvitationsResource:
    def __init__(self, teams: TeamService):
        self.teams = teams

    @operation("A team's pending invitations (owners and admins)",
               responses={200: InvitationListView}, problems=(403, 404), auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, team_id: uuid.UUID) -> None:
        rows = self.teams.invitations(req.context.db, team_id=team_id,
                                      user_id=current_user(req).id)
        resp.media = unstructure(InvitationListView(tuple(rows)))


class InvitationResource:
    def __init__(self, teams: TeamService):
        self.teams = teams

    @operation("Revoke a pending invitation", responses={204: None}, problems=(403, 404),
               auth=True)
    @falcon.before(require_user)
    def on_delete(self, req: falcon.Request, resp: falcon.Response, team_id: uuid.UUID,
                  invitation_id: uuid.UUID) -> None:
        self.teams.revoke(req.context.db, team_id=team_id, user_id=current_user(req).id,
                          invitation_id=invitation_id)
        resp.status = falcon.HTTP_204


class InvitationLinkResource:
    """The link mailed to an invited address; only that address' account may use it."""

    def __init__(self, teams: TeamService):
        self.teams = teams

    @operation("An invitation sent to my email: the team, who invited me, the role",
               responses={200: InvitationDetailView}, problems=(403, 404, 410), auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, invitation_token: str) -> None:
        resp.media = unstructure(self.teams.invitation(
            req.context.db, token=invitation_token, user_id=current_user(req).id))


class InvitationAcceptResource:
    def __init__(self, teams: TeamService):
        self.teams = teams

    @operation("Accept an invitation sent to my email: I join the team",
               responses={200: TeamView}, problems=(403, 404, 409, 410), auth=True)
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, invitation_token: str) -> None:
        resp.media = unstructure(self.teams.accept(
            req.context.db, token=invitation_token, user_id=current_user(req).id))


class InvitationDeclineResource:
    def __init__(self, teams: TeamService):
        self.teams = teams

    @operation("Decline an invitation sent to my email", responses={204: None},
               problems=(403, 404, 410), auth=True)
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, invitation_token: str) -> None:
        self.teams.decline(req.context.db, token=invitation_token,
                           user_id=current_user(req).id)
        resp.status = falcon.HTTP_204


class MemberResource:
    def __init__(self, teams: TeamService):
        self.teams = teams

    @operation("Change a member's role", request=RoleRequest, responses={200: MemberView},
               problems=(403, 404, 409), auth=True)
    @falcon.before(require_user)
    def on_patch(self, req: falcon.Request, resp: falcon.Response, team_id: uuid.UUID,
                 user_id: uuid.UUID) -> None:
        body = read_json(req, RoleRequest)
        member = self.teams.change_role(req.context.db, team_id=team_id,
                                        user_id=current_user(req).id, member_id=user_id,
                                        role=body.role)
        resp.media = unstructure(member)

    @operation("Remove a member (yourself: leave the team)", responses={204: None},
               problems=(403, 404, 409), auth=True)
    @falcon.before(require_user)
    def on_delete(self, req: falcon.Request, resp: falcon.Response, team_id: uuid.UUID,
                  user_id: uuid.UUID) -> None:
        self.teams.remove_member(req.context.db, team_id=team_id,
                                 user_id=current_user(req).id, member_id=user_id)
        resp.status = falcon.HTTP_204


def routes(*, teams: TeamService, notifier: Notifier) -> list[Route]:
    team = "/api/teams/{team_id:uuid}"
    link = "/api/invitations/{invitation_token}"
    return [
        Route("/api/teams", TeamsResource(teams)),
        Route(team, TeamResource(teams)),
        Route(f"{team}/invite", InviteResource(teams, notifier)),
        Route(f"{team}/invitations", InvitationsResource(teams)),
        Route(f"{team}/invitations/{{invitation_id:uuid}}", InvitationResource(teams)),
        Route(f"{team}/members/{{user_id:uuid}}", MemberResource(teams)),
        Route(link, InvitationLinkResource(teams)),
        Route(f"{link}/accept", InvitationAcceptResource(teams)),
        Route(f"{link}/decline", InvitationDeclineResource(teams)),
    ]
