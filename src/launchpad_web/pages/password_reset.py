"""The forgotten-password pages, offered only when the service can send email
(``LAUNCHPAD_SMTP_HOST``): ask for a link, then choose a new password on the page the
link opens. A form over :class:`~launchpad_web.accounts.resets.PasswordResets`.

Asking always answers the same page ("if an account has this email ..."), and the
email goes out on a thread of its own after the commit, so neither the page nor its
timing says whether the address has an account.
"""

from __future__ import annotations

import falcon

from ..accounts.resets import PasswordResets
from ..accounts.schemas import PasswordResetRequest
from ..converter import structure
from ..errors import ApiError
from ..notifications import Notifier
from .forms import Form
from .rendering import Pages
from .resources import NO_ERRORS, FormErrors, failed, see_other
from .security import FIELD

FORGOT = "/password/forgot"


class ForgotPasswordPage:
    fields = ("email",)

    def __init__(self, pages: Pages, resets: PasswordResets | None, notifier: Notifier):
        self.pages = pages
        self.resets = resets
        self.notifier = notifier

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.pages.render(req, resp, "forgot_password.html", available=self.resets is not None,
                          errors=NO_ERRORS, email="", sent=False)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self.resets is None:
            raise falcon.HTTPNotFound()
        form = Form.read(req)
        self.pages.form_token.check(req, form.get(FIELD))
        try:
            email = structure({"email": form.get("email")}, PasswordResetRequest).email
            notice = self.resets.request(req.context.db, email=email, address=req.remote_addr)
        except ApiError as ex:
            failed(req)
            self.pages.render(req, resp, "forgot_password.html", status=ex.status,
                              available=True, errors=FormErrors.of(ex, self.fields),
                              email=form.get("email"), sent=False)
            resp.set_headers(ex.headers)
            return
        req.context.db.commit()
        if notice is not None:
            self.notifier.send_later(notice)
        self.pages.render(req, resp, "forgot_password.html", available=True, errors=NO_ERRORS,
                          email=email, sent=True)


class ResetPasswordPage:
    fields = ("new_password", "token")

    def __init__(self, pages: Pages, resets: PasswordResets):
        self.pages = pages
        self.resets = resets

    def on_get(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        live = self.resets.is_live(req.context.db, token)
        self.pages.render(req, resp, "reset_password.html", status=200 if live else 400,
                          live=live, token=token, errors=NO_ERRORS)

    def on_post(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        form = Form.read(req)
        self.pages.form_token.check(req, form.get(FIELD))
        try:
            self.resets.reset(req.context.db, token=token, new_password=form.get("new_password"))
        except ApiError as ex:
            failed(req)
            self.pages.render(req, resp, "reset_password.html", status=ex.status,
                              live=ex.field != "$.token", token=token,
                              errors=FormErrors.of(ex, self.fields))
            return
        see_other(resp, "/login?reset=done")


def install(app: falcon.App, pages: Pages, resets: PasswordResets | None,
            notifier: Notifier) -> None:
    app.add_route(FORGOT, ForgotPasswordPage(pages, resets, notifier))
    if resets is not None:
        app.add_route("/password/reset/{token}", ResetPasswordPage(pages, resets))
