"""Signing in with a forge, and linking or unlinking one from the account page.

``POST /auth/{forge}/start`` (the login and sign-up pages' buttons) and
``POST /account/forges/{forge}/link`` (the account page's Link, and "Allow
repositories" there, on a job's Publish and on the import page, which ask for the
forge's repository scopes too) check the form's CSRF token, then send the
browser to the forge (303); the forge sends it back to ``GET
/auth/{forge}/callback``, which checks ``state`` against the flow's cookie
(:mod:`launchpad_web.forges.oauth`), then signs in or links. The Content-Security-
Policy lets these forms reach the configured forges' authorization origins only
(:class:`~launchpad_web.pages.security.PageHeaders`).
"""

from __future__ import annotations

import falcon

from ..accounts.auth import Authenticator
from ..db import end_transaction
from ..errors import ApiError, OAuthStateError
from ..forges.services import ForgeService
from .account import AccountPage
from .forms import Form
from .rendering import Pages
from .resources import local_path, require_page_user, see_other
from .security import FIELD

LINKED = "/account?done=forge"


class SignInStart:
    def __init__(self, pages: Pages, forges: ForgeService):
        self.pages = pages
        self.forges = forges

    def on_post(self, req: falcon.Request, resp: falcon.Response, forge: str) -> None:
        form = Form.read(req)
        self.pages.form_token.check(req, form.get(FIELD))
        found = self.forges.forge(forge)
        see_other(resp, self.forges.flows.start(resp, found, intent="signin",
                                                next=local_path(form.get("next"))))


class LinkStart:
    def __init__(self, pages: Pages, forges: ForgeService):
        self.pages = pages
        self.forges = forges

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, forge: str) -> None:
        """Link the forge, or (``repositories=true``) let LaunchPad use its repositories
        too; the forge then sends the browser back to ``next`` (the account page)."""
        form = Form.read(req)
        self.pages.form_token.check(req, form.get(FIELD))
        found = self.forges.forge(forge)
        back = local_path(form.get("next")) if form.get("next") else LINKED
        see_other(resp, self.forges.flows.start(resp, found, intent="link",
                                                user_id=str(req.context.user.id), next=back,
                                                repositories=form.get("repositories") == "true"))


class Callback:
    def __init__(self, forges: ForgeService, auth: Authenticator):
        self.forges = forges
        self.auth = auth

    def on_get(self, req: falcon.Request, resp: falcon.Response, forge: str) -> None:
        found = self.forges.forge(forge)
        # The forge is asked twice (the tokens, who it is) before anything is written: no
        # transaction (on SQLite, the write lock every other request waits for) meanwhile.
        end_transaction(req.context.db)
        flow, tokens = self.forges.flows.finish(req, resp, found)
        user = req.context.get("user")
        if flow.intent == "link":
            if user is None or str(user.id) != flow.user_id:
                raise OAuthStateError("the link was started by another session: start again")
            self.forges.link(req.context.db, user.id, found, tokens)
            see_other(resp, local_path(flow.next))
            return
        signed_in = self.forges.sign_in(req.context.db, found, tokens, address=req.remote_addr)
        self.auth.sign_in(req, resp, signed_in)
        see_other(resp, local_path(flow.next))


class Unlink:
    """Errors (the last way to sign in) are shown on the account page."""

    def __init__(self, page: AccountPage, forges: ForgeService):
        self.page = page
        self.forges = forges

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, forge: str) -> None:
        self.page.pages.form_token.check(req, Form.read(req).get(FIELD))
        try:
            self.forges.unlink(req.context.db, req.context.user.id, forge)
        except ApiError as ex:
            self.page.refuse(req, resp, "forges", ex)
            return
        see_other(resp, "/account?done=unlinked")


def install(app: falcon.App, pages: Pages, page: AccountPage, forges: ForgeService,
            auth: Authenticator) -> None:
    app.add_route("/auth/{forge}/start", SignInStart(pages, forges))
    app.add_route("/auth/{forge}/callback", Callback(forges, auth))
    app.add_route("/account/forges/{forge}/link", LinkStart(pages, forges))
    app.add_route("/account/forges/{forge}/unlink", Unlink(page, forges))
