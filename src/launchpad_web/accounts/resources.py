"""HTTP nouns of the accounts domain: sign-up, login, logout, the signed-in user,
the password, the GDPR export, the CSRF token and API tokens.

Responders that check a password set ``req.context.commit_on_error`` first: a
failed check is recorded for throttling and must stay although the answer is an
error (see :class:`~launchpad_web.middleware.DbSession`).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import falcon

from ..converter import unstructure
from ..notifications import Notifier
from ..openapi import JSON_OBJECT, Route, operation
from ..request_bodies import read_json
from .auth import Authenticator, current_user, require_session, require_user
from .resets import PasswordResets
from .schemas import (
    AccountDeletionRequest,
    ApiTokenRequest,
    ApiTokenView,
    CsrfTokenView,
    LoginRequest,
    NewApiTokenView,
    PasswordChangeRequest,
    PasswordResetConfirmRequest,
    PasswordResetRequest,
    SignupRequest,
    UserView,
)
from .services import AccountService
from .tokens import TokenStore

if TYPE_CHECKING:
    from ..personal_data import AccountExport


class SignupResource:
    def __init__(self, accounts: AccountService, auth: Authenticator):
        self.accounts = accounts
        self.auth = auth

    @operation("Create an account and sign in", request=SignupRequest,
               responses={201: UserView}, problems=(403, 409, 429))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, SignupRequest)
        user = self.accounts.signup(req.context.db, email=body.email, password=body.password,
                                    address=req.remote_addr)
        self.auth.sign_in(req, resp, user)
        resp.status = falcon.HTTP_201
        resp.media = unstructure(user)


class LoginResource:
    def __init__(self, accounts: AccountService, auth: Authenticator):
        self.accounts = accounts
        self.auth = auth

    @operation("Sign in: a new session cookie", request=LoginRequest,
               responses={200: UserView}, problems=(401, 403, 429))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, LoginRequest)
        req.context.commit_on_error = True
        user = self.accounts.authenticate(req.context.db, email=body.email,
                                          password=body.password, address=req.remote_addr)
        self.auth.sign_in(req, resp, user)
        resp.media = unstructure(user)


class LogoutResource:
    def __init__(self, auth: Authenticator):
        self.auth = auth

    @operation("Sign out: end this session", responses={204: None}, problems=(403,),
               auth=True)
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.auth.sign_out(req, resp)
        resp.status = falcon.HTTP_204


class CsrfResource:
    @operation("This session's CSRF token, for the X-CSRF-Token header",
               responses={200: CsrfTokenView}, problems=(403,), auth=True)
    @falcon.before(require_session)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = unstructure(CsrfTokenView(csrf_token=req.context.credential.csrf_token))


class MeResource:
    def __init__(self, accounts: AccountService, auth: Authenticator):
        self.accounts = accounts
        self.auth = auth

    @operation("The signed-in user", responses={200: UserView}, auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = unstructure(current_user(req))

    @operation("Delete the account and everything only it owns (needs the password)",
               request=AccountDeletionRequest, responses={204: None}, problems=(403, 429, 503),
               auth=True)
    @falcon.before(require_session)
    def on_delete(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, AccountDeletionRequest)
        req.context.commit_on_error = True
        user_id = current_user(req).id
        self.accounts.delete_account(req.context.db, user_id=user_id, password=body.password,
                                     address=req.remote_addr)
        self.auth.tokens.forget_user(user_id)
        self.auth.cookie.clear(resp)
        resp.status = falcon.HTTP_204


class PasswordResource:
    def __init__(self, accounts: AccountService, auth: Authenticator):
        self.accounts = accounts
        self.auth = auth

    @operation("Change the password: every other session ends, this one gets a new id",
               request=PasswordChangeRequest, responses={200: UserView}, problems=(403, 429),
               auth=True)
    @falcon.before(require_session)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, PasswordChangeRequest)
        req.context.commit_on_error = True
        user = self.accounts.change_password(
            req.context.db, user_id=current_user(req).id, current=body.current_password,
            new=body.new_password, address=req.remote_addr)
        self.auth.sign_in_only_here(req, resp, user)
        resp.media = unstructure(user)


class ExportResource:
    def __init__(self, export: AccountExport):
        self.export = export

    @operation("Everything stored about the signed-in user (GDPR export)",
               responses={200: JSON_OBJECT}, auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.export.export(req.context.db, current_user(req).id)
        resp.downloadable_as = "launchpad-export.json"


class TokensResource:
    def __init__(self, tokens: TokenStore):
        self.tokens = tokens

    @operation("The signed-in user's API tokens (never their secrets)",
               responses={200: list[ApiTokenView]}, auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = unstructure(self.tokens.list(req.context.db, current_user(req).id))

    @operation("Create an API token; its secret is answered this once", request=ApiTokenRequest,
               responses={201: NewApiTokenView}, problems=(403,), auth=True)
    @falcon.before(require_session)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, ApiTokenRequest)
        token = self.tokens.create(req.context.db, user_id=current_user(req).id, name=body.name,
                                   expires_in_days=body.expires_in_days)
        resp.status = falcon.HTTP_201
        resp.media = unstructure(token)


class TokenResource:
    def __init__(self, tokens: TokenStore):
        self.tokens = tokens

    @operation("Revoke an API token", responses={204: None}, problems=(403, 404), auth=True)
    @falcon.before(require_user)
    def on_delete(self, req: falcon.Request, resp: falcon.Response, token_id: uuid.UUID) -> None:
        self.tokens.delete(req.context.db, user_id=current_user(req).id, token_id=token_id)
        resp.status = falcon.HTTP_204


class PasswordResetResource:
    def __init__(self, resets: PasswordResets, notifier: Notifier):
        self.resets = resets
        self.notifier = notifier

    @operation("Ask for a password-reset link by email: answered alike whether or not the "
               "address has an account (only on a service that sends email)",
               request=PasswordResetRequest, responses={202: None}, problems=(403, 429))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, PasswordResetRequest)
        notice = self.resets.request(req.context.db, email=body.email, address=req.remote_addr)
        req.context.db.commit()
        if notice is not None:
            self.notifier.send_later(notice)
        resp.status = falcon.HTTP_202


class PasswordResetConfirmResource:
    def __init__(self, resets: PasswordResets):
        self.resets = resets

    @operation("Choose a new password with a mailed link's token (once; every session ends)",
               request=PasswordResetConfirmRequest, responses={204: None}, problems=(400, 403))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, PasswordResetConfirmRequest)
        self.resets.reset(req.context.db, token=body.token, new_password=body.new_password)
        resp.status = falcon.HTTP_204


def routes(*, accounts: AccountService, auth: Authenticator, export: AccountExport,
           resets: PasswordResets | None = None, notifier: Notifier | None = None
           ) -> list[Route]:
    """The password-reset routes exist only with ``resets`` (a service that sends email)."""
    reset_routes = [] if resets is None or notifier is None else [
        Route("/api/auth/password-reset", PasswordResetResource(resets, notifier)),
        Route("/api/auth/password-reset/confirm", PasswordResetConfirmResource(resets)),
    ]
    return [
        *reset_routes,
        Route("/api/auth/signup", SignupResource(accounts, auth)),
        Route("/api/auth/login", LoginResource(accounts, auth)),
        Route("/api/auth/logout", LogoutResource(auth)),
        Route("/api/auth/csrf", CsrfResource()),
        Route("/api/me", MeResource(accounts, auth)),
        Route("/api/me/password", PasswordResource(accounts, auth)),
        Route("/api/me/export", ExportResource(export)),
        Route("/api/tokens", TokensResource(auth.tokens)),
        Route("/api/tokens/{token_id:uuid}", TokenResource(auth.tokens)),
    ]
