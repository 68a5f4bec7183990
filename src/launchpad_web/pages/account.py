"""The account page: password, API tokens, the GDPR export and deleting the account,
each a form over the same services as ``/api/me`` and ``/api/tokens``.

A form that checks a password keeps the failed attempt (``commit_on_error``), as the
API does: it counts for throttling.
"""

from __future__ import annotations

import uuid

import falcon

from ..accounts.auth import Authenticator
from ..accounts.schemas import AccountDeletionRequest, ApiTokenRequest, PasswordChangeRequest
from ..accounts.services import AccountService
from ..converter import structure
from ..errors import ApiError
from ..forges.services import ForgeService
from .forms import Form
from .rendering import Pages
from .resources import NO_ERRORS, FormErrors, failed, require_page_user, see_other
from .security import FIELD

FORMS = {"password": ("current_password", "new_password"), "token": ("name",),
         "delete": ("password",), "forges": ()}
DONE = {"password": "Your password is changed; your other sessions have ended.",
        "token": "The token is revoked.", "forge": "The forge account is linked.",
        "unlinked": "The forge account is unlinked."}


class AccountPage:
    """``forges`` None: forge sign-in is off (no encryption keys), the section is left out."""

    def __init__(self, pages: Pages, auth: Authenticator, accounts: AccountService,
                 forges: ForgeService | None):
        self.pages = pages
        self.auth = auth
        self.accounts = accounts
        self.forges = forges

    @falcon.before(require_page_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.render(req, resp, notice=DONE.get(req.get_param("done") or ""))

    def render(self, req: falcon.Request, resp: falcon.Response, *, status: int = 200,
               failed_form: str = "", errors: FormErrors = NO_ERRORS, **context: object) -> None:
        forms = {name: errors if name == failed_form else NO_ERRORS for name in FORMS}
        context.setdefault("notice", None)
        context.setdefault("new_token", None)
        user_id = req.context.user.id
        self.pages.render(req, resp, "account.html", status=status, errors=forms,
                          tokens=self.auth.tokens.list(req.context.db, user_id),
                          has_password=self.accounts.has_password(req.context.db, user_id),
                          links={link.forge: link for link in
                                 self.forges.links(req.context.db, user_id)}
                          if self.forges else None, **context)

    def refuse(self, req: falcon.Request, resp: falcon.Response, form: str,
               ex: ApiError, **context: object) -> None:
        failed(req)
        self.render(req, resp, status=ex.status, failed_form=form,
                    errors=FormErrors.of(ex, FORMS[form]), **context)
        resp.set_headers(ex.headers)


class PasswordForm:
    def __init__(self, page: AccountPage, accounts: AccountService):
        self.page = page
        self.accounts = accounts

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = Form.read(req)
        self.page.pages.form_token.check(req, form.get(FIELD))
        req.context.commit_on_error = True
        try:
            body = structure({k: form.get(k) for k in FORMS["password"]}, PasswordChangeRequest)
            user = self.accounts.change_password(
                req.context.db, user_id=req.context.user.id, current=body.current_password,
                new=body.new_password, address=req.remote_addr)
        except ApiError as ex:
            self.page.refuse(req, resp, "password", ex)
            return
        self.page.auth.sign_in_only_here(req, resp, user)
        see_other(resp, "/account?done=password")


class TokensForm:
    """A new token is shown on the page answering the post, once; never again."""

    def __init__(self, page: AccountPage):
        self.page = page

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = Form.read(req)
        self.page.pages.form_token.check(req, form.get(FIELD))
        try:
            body = structure({"name": form.get("name")}, ApiTokenRequest)
            token = self.page.auth.tokens.create(req.context.db, user_id=req.context.user.id,
                                                 name=body.name, expires_in_days=None)
        except ApiError as ex:
            self.page.refuse(req, resp, "token", ex, token_name=form.get("name"))
            return
        resp.cache_control = ["no-store"]
        self.page.render(req, resp, status=201, new_token=token)


class TokenRevokeForm:
    def __init__(self, page: AccountPage):
        self.page = page

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, token_id: uuid.UUID) -> None:
        self.page.pages.form_token.check(req, Form.read(req).get(FIELD))
        self.page.auth.tokens.delete(req.context.db, user_id=req.context.user.id,
                                     token_id=token_id)
        see_other(resp, "/account?done=token")


class DeleteAccountForm:
    def __init__(self, page: AccountPage, accounts: AccountService):
        self.page = page
        self.accounts = accounts

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = Form.read(req)
        self.page.pages.form_token.check(req, form.get(FIELD))
        req.context.commit_on_error = True
        user_id = req.context.user.id
        try:
            body = structure({"password": form.get("password")}, AccountDeletionRequest)
            self.accounts.delete_account(req.context.db, user_id=user_id,
                                         password=body.password, address=req.remote_addr)
        except ApiError as ex:
            self.page.refuse(req, resp, "delete", ex)
            return
        self.page.auth.tokens.forget_user(user_id)
        self.page.auth.cookie.clear(resp)
        see_other(resp, "/")


def install(app: falcon.App, pages: Pages, accounts: AccountService,
            auth: Authenticator, forges: ForgeService | None) -> AccountPage:
    page = AccountPage(pages, auth, accounts, forges)
    app.add_route("/account", page)
    app.add_route("/account/password", PasswordForm(page, accounts))
    app.add_route("/account/tokens", TokensForm(page))
    app.add_route("/account/tokens/{token_id:uuid}/revoke", TokenRevokeForm(page))
    app.add_route("/account/delete", DeleteAccountForm(page, accounts))
    return page
