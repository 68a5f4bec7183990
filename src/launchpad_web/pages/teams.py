"""The teams pages: my teams, one team (members, roles, invitations), and the page
an invitation's link opens; forms over the same :class:`TeamService` as ``/api/teams``.

A refused action (402 when the plan has no teams, 409 for the last owner) is shown
on the page it came from, at its field when it has one.
"""

from __future__ import annotations

import uuid

import falcon

from ..converter import structure
from ..errors import ApiError, ValidationFailedError
from ..notifications import Notifier
from ..teams import policy
from ..teams.models import TeamRole
from ..teams.schemas import InviteRequest, RoleRequest, TeamRequest
from ..teams.services import TeamService
from .forms import Form
from .rendering import Pages
from .resources import NO_ERRORS, FormErrors, failed, require_page_user, see_other
from .security import FIELD

ROLES = [role.value for role in TeamRole]
FORMS = {"invite": ("email", "role"), "members": ("role",), "rename": ("name",),
         "delete": ("confirm",)}


def _read(pages: Pages, req: falcon.Request) -> Form:
    form = Form.read(req)
    pages.form_token.check(req, form.get(FIELD))
    return form


class TeamsPage:
    fields = ("name",)

    def __init__(self, pages: Pages, teams: TeamService):
        self.pages = pages
        self.teams = teams

    @falcon.before(require_page_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._render(req, resp, NO_ERRORS, name="")

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = _read(self.pages, req)
        try:
            body = structure({"name": form.get("name")}, TeamRequest)
            team = self.teams.create(req.context.db, user_id=req.context.user.id, name=body.name)
        except ApiError as ex:
            failed(req)
            self._render(req, resp, FormErrors.of(ex, self.fields), name=form.get("name"),
                         status=ex.status)
            return
        see_other(resp, f"/teams/{team.id}")

    def _render(self, req: falcon.Request, resp: falcon.Response, errors: FormErrors, *,
                name: str, status: int = 200) -> None:
        self.pages.render(req, resp, "teams.html", status=status, errors=errors, name=name,
                          teams=self.teams.list(req.context.db, user_id=req.context.user.id))


class TeamPage:
    def __init__(self, pages: Pages, teams: TeamService):
        self.pages = pages
        self.teams = teams

    @falcon.before(require_page_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, team_id: uuid.UUID) -> None:
        self.render(req, resp, team_id)

    def render(self, req: falcon.Request, resp: falcon.Response, team_id: uuid.UUID, *,
               failed_form: str = "", errors: FormErrors = NO_ERRORS, status: int = 200,
               invite_email: str = "", name: str | None = None) -> None:
        db, user_id = req.context.db, req.context.user.id
        team = self.teams.get(db, team_id=team_id, user_id=user_id)
        manages = policy.may_manage_team(team.role)
        invitations = self.teams.invitations(db, team_id=team_id, user_id=user_id) \
            if manages else []
        forms = {name: errors if name == failed_form else NO_ERRORS for name in FORMS}
        self.pages.render(req, resp, "team.html", status=status, team=team, manages=manages,
                          deletes=policy.may_delete_team(team.role), invitations=invitations,
                          roles=ROLES, errors=forms, invite_email=invite_email,
                          name=team.name if name is None else name)

    def refuse(self, req: falcon.Request, resp: falcon.Response, team_id: uuid.UUID,
               form: str, ex: ApiError, **context: str) -> None:
        failed(req)
        self.render(req, resp, team_id, failed_form=form, status=ex.status,
                    errors=FormErrors.of(ex, FORMS[form]), **context)


class TeamRenameForm:
    def __init__(self, page: TeamPage):
        self.page = page

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, team_id: uuid.UUID) -> None:
        form = _read(self.page.pages, req)
        try:
            body = structure({"name": form.get("name")}, TeamRequest)
            self.page.teams.rename(req.context.db, team_id=team_id,
                                   user_id=req.context.user.id, name=body.name)
        except ApiError as ex:
            self.page.refuse(req, resp, team_id, "rename", ex, name=form.get("name"))
            return
        see_other(resp, f"/teams/{team_id}")


class TeamDeleteForm:
    """Deleting a team (owners only) deletes its templates too: the box must be ticked."""

    def __init__(self, page: TeamPage):
        self.page = page

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, team_id: uuid.UUID) -> None:
        form = _read(self.page.pages, req)
        try:
            if not form.get("confirm"):
                raise ValidationFailedError.one(
                    "confirmation_required",
                    "tick the box to confirm: the team and its templates are deleted",
                    "$.confirm")
            self.page.teams.delete(req.context.db, team_id=team_id,
                                   user_id=req.context.user.id)
        except ApiError as ex:
            self.page.refuse(req, resp, team_id, "delete", ex)
            return
        see_other(resp, "/teams")


class InviteForm:
    def __init__(self, page: TeamPage, notifier: Notifier):
        self.page = page
        self.notifier = notifier

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, team_id: uuid.UUID) -> None:
        form = _read(self.page.pages, req)
        try:
            body = structure({"email": form.get("email"), "role": form.get("role", "member")},
                             InviteRequest)
            invited = self.page.teams.invite(req.context.db, team_id=team_id,
                                             user_id=req.context.user.id, email=body.email,
                                             role=body.role)
        except ApiError as ex:
            self.page.refuse(req, resp, team_id, "invite", ex, invite_email=form.get("email"))
            return
        req.context.db.commit()
        self.notifier.send(invited.notice)
        see_other(resp, f"/teams/{team_id}")


class InvitationRevokeForm:
    def __init__(self, page: TeamPage):
        self.page = page

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, team_id: uuid.UUID,
                invitation_id: uuid.UUID) -> None:
        _read(self.page.pages, req)
        self.page.teams.revoke(req.context.db, team_id=team_id, user_id=req.context.user.id,
                               invitation_id=invitation_id)
        see_other(resp, f"/teams/{team_id}")


class MemberRoleForm:
    def __init__(self, page: TeamPage):
        self.page = page

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, team_id: uuid.UUID,
                user_id: uuid.UUID) -> None:
        form = _read(self.page.pages, req)
        try:
            body = structure({"role": form.get("role")}, RoleRequest)
            self.page.teams.change_role(req.context.db, team_id=team_id,
                                        user_id=req.context.user.id, member_id=user_id,
                                        role=body.role)
        except ApiError as ex:
            self.page.refuse(req, resp, team_id, "members", ex)
            return
        see_other(resp, f"/teams/{team_id}")


class MemberRemoveForm:
    """Removing oneself is leaving: the team's page is then out of reach."""

    def __init__(self, page: TeamPage):
        self.page = page

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, team_id: uuid.UUID,
                user_id: uuid.UUID) -> None:
        _read(self.page.pages, req)
        me = req.context.user.id
        try:
            self.page.teams.remove_member(req.context.db, team_id=team_id, user_id=me,
                                          member_id=user_id)
        except ApiError as ex:
            self.page.refuse(req, resp, team_id, "members", ex)
            return
        see_other(resp, "/teams" if user_id == me else f"/teams/{team_id}")


class InvitationPage:
    """Where an invitation's link leads: the team, who invited, the role; accept or decline."""

    def __init__(self, pages: Pages, teams: TeamService):
        self.pages = pages
        self.teams = teams

    @falcon.before(require_page_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, invitation_token: str) -> None:
        invitation = self.teams.invitation(req.context.db, token=invitation_token,
                                           user_id=req.context.user.id)
        self.pages.render(req, resp, "invitation.html", invitation=invitation,
                          token=invitation_token)

    @falcon.before(require_page_user)
    def on_post_accept(self, req: falcon.Request, resp: falcon.Response,
                       invitation_token: str) -> None:
        _read(self.pages, req)
        team = self.teams.accept(req.context.db, token=invitation_token,
                                 user_id=req.context.user.id)
        see_other(resp, f"/teams/{team.id}")

    @falcon.before(require_page_user)
    def on_post_decline(self, req: falcon.Request, resp: falcon.Response,
                        invitation_token: str) -> None:
        _read(self.pages, req)
        self.teams.decline(req.context.db, token=invitation_token, user_id=req.context.user.id)
        see_other(resp, "/teams")


def install(app: falcon.App, pages: Pages, teams: TeamService, notifier: Notifier) -> None:
    team = "/teams/{team_id:uuid}"
    page = TeamPage(pages, teams)
    invitation = InvitationPage(pages, teams)
    app.add_route("/teams", TeamsPage(pages, teams))
    app.add_route(team, page)
    app.add_route(f"{team}/rename", TeamRenameForm(page))
    app.add_route(f"{team}/delete", TeamDeleteForm(page))
    app.add_route(f"{team}/invite", InviteForm(page, notifier))
    app.add_route(f"{team}/invitations/{{invitation_id:uuid}}/revoke", InvitationRevokeForm(page))
    app.add_route(f"{team}/members/{{user_id:uuid}}/role", MemberRoleForm(page))
    app.add_route(f"{team}/members/{{user_id:uuid}}/remove", MemberRemoveForm(page))
    app.add_route("/invitations/{invitation_token}", invitation)
    app.add_route("/invitations/{invitation_token}/accept", invitation, suffix="accept")
    app.add_route("/invitations/{invitation_token}/decline", invitation, suffix="decline")
