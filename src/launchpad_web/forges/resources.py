"""HTTP nouns of the forges domain: the forges set up here, the signed-in user's
linked forge accounts, checking and unlinking one. Signing in and linking are
browser redirects: they are pages (:mod:`launchpad_web.pages.forges`)."""

from __future__ import annotations

import falcon

from ..accounts.auth import current_user, require_session, require_user
from ..converter import unstructure
from ..openapi import Route, operation
from .services import ForgeLinkView, ForgeService, ForgeView


class ForgesResource:
    def __init__(self, forges: ForgeService):
        self.forges = forges

    @operation("The forges one can sign in with here (start at /auth/{forge}/start)",
               responses={200: list[ForgeView]})
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = unstructure(self.forges.available())


class LinksResource:
    def __init__(self, forges: ForgeService):
        self.forges = forges

    @operation("The signed-in user's linked forge accounts (never their tokens)",
               responses={200: list[ForgeLinkView]}, auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = unstructure(self.forges.links(req.context.db, current_user(req).id))


class LinkResource:
    def __init__(self, forges: ForgeService):
        self.forges = forges

    @operation("Ask the forge whether the link works; a token it refuses is dropped",
               responses={200: ForgeLinkView}, problems=(404, 502), auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, forge: str) -> None:
        req.context.commit_on_error = True  # a refreshed or dropped token stays so
        resp.media = unstructure(self.forges.check(req.context.db, current_user(req).id, forge))

    @operation("Unlink the forge account (refused for the last way to sign in)",
               responses={204: None}, problems=(403, 404, 409), auth=True)
    @falcon.before(require_session)
    def on_delete(self, req: falcon.Request, resp: falcon.Response, forge: str) -> None:
        self.forges.unlink(req.context.db, current_user(req).id, forge)
        resp.status = falcon.HTTP_204


def routes(*, forges: ForgeService) -> list[Route]:
    return [
        Route("/api/forges", ForgesResource(forges)),
        Route("/api/me/forges", LinksResource(forges)),
        Route("/api/me/forges/{forge}", LinkResource(forges)),
    ]
