"""HTTP nouns of the teams domain: teams, their members and invitations."""

from __future__ import annotations

import uuid

import falcon

from ..accounts.auth import current_user, require_user
from ..bodies import read_json
from ..converter import unstructure
from ..openapi import Route, operation
from .schemas import (
    InvitationListView,
    InviteRequest,
    InviteView,
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
    def __init__(self, teams: TeamService):
        self.teams = teams

    @operation("Invite by email: a user joins at once, an unknown email when signing up",
               request=InviteRequest, responses={201: InviteView}, problems=(403, 404, 409),
               auth=True)
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, team_id: uuid.UUID) -> None:
        body = read_json(req, InviteRequest)
        result = self.teams.invite(req.context.db, team_id=team_id,
                                   user_id=current_user(req).id, email=body.email,
                                   role=body.role)
        resp.status = falcon.HTTP_201
        resp.media = unstructure(result)


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


def routes(*, teams: TeamService) -> list[Route]:
    team = "/api/teams/{team_id:uuid}"
    return [
        Route("/api/teams", TeamsResource(teams)),
        Route(team, TeamResource(teams)),
        Route(f"{team}/invite", InviteResource(teams)),
        Route(f"{team}/invitations", InvitationsResource(teams)),
        Route(f"{team}/invitations/{{invitation_id:uuid}}", InvitationResource(teams)),
        Route(f"{team}/members/{{user_id:uuid}}", MemberResource(teams)),
    ]
