"""HTTP nouns of the accounts domain: sign-up, login, logout and the signed-in user."""

from __future__ import annotations

import falcon

from ..bodies import read_json
from ..converter import unstructure
from ..openapi import Route, operation
from .auth import Authenticator, current_user, require_user
from .schemas import LoginRequest, SignupRequest, UserView
from .services import AccountService


class SignupResource:
    def __init__(self, accounts: AccountService, auth: Authenticator):
        self.accounts = accounts
        self.auth = auth

    @operation("Create an account and sign in", request=SignupRequest,
               responses={201: UserView}, problems=(409,))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, SignupRequest)
        user = self.accounts.signup(req.context.db, email=body.email, password=body.password)
        self.auth.sign_in(req, resp, user)
        resp.status = falcon.HTTP_201
        resp.media = unstructure(user)


class LoginResource:
    def __init__(self, accounts: AccountService, auth: Authenticator):
        self.accounts = accounts
        self.auth = auth

    @operation("Sign in: a new session cookie", request=LoginRequest,
               responses={200: UserView}, problems=(401,))
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, LoginRequest)
        user = self.accounts.authenticate(req.context.db, email=body.email,
                                          password=body.password)
        self.auth.sign_in(req, resp, user)
        resp.media = unstructure(user)


class LogoutResource:
    def __init__(self, auth: Authenticator):
        self.auth = auth

    @operation("Sign out: end this session", responses={204: None}, auth=True)
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.auth.sign_out(req, resp)
        resp.status = falcon.HTTP_204


class MeResource:
    @operation("The signed-in user", responses={200: UserView}, auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = unstructure(current_user(req))


def routes(*, accounts: AccountService, auth: Authenticator) -> list[Route]:
    return [
        Route("/api/auth/signup", SignupResource(accounts, auth)),
        Route("/api/auth/login", LoginResource(accounts, auth)),
        Route("/api/auth/logout", LogoutResource(auth)),
        Route("/api/me", MeResource()),
    ]
