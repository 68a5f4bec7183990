"""Authentication, in one module: who is calling, and the hook that requires someone.

:class:`Authenticator` is a middleware that puts the signed-in user (a
:class:`UserView`) or None in ``req.context.user`` and the credential used in
``req.context.credential``. Credentials are tried in order by
:meth:`Authenticator.identify`; today the session cookie, next API tokens
(``Authorization: Bearer``), each a ``_from_*`` method returning a
:class:`Credential` or None. Responders that need a user use
``@falcon.before(require_user)``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import falcon

from ..errors import UnauthenticatedError
from .schemas import UserView
from .sessions import SessionStore, hash_token

EXPIRED = datetime(1970, 1, 1, tzinfo=UTC)


@attrs.frozen
class Credential:
    """How the caller proved who they are: ``kind`` is ``session`` (or ``token``)."""

    kind: str
    id: str
    user: UserView


@attrs.frozen
class SessionCookie:
    """The session cookie: HttpOnly, SameSite=Lax, and ``Secure`` with the
    ``__Host-`` prefix outside development."""

    secure: bool
    max_age: timedelta

    @property
    def name(self) -> str:
        return "__Host-lp_session" if self.secure else "lp_session"

    def read(self, req: falcon.Request) -> str | None:
        values = req.get_cookie_values(self.name)
        return values[0] if values else None

    def write(self, resp: falcon.Response, token: str) -> None:
        resp.set_cookie(self.name, token, max_age=int(self.max_age.total_seconds()), path="/",
                        secure=self.secure, http_only=True, same_site="Lax")

    def clear(self, resp: falcon.Response) -> None:
        # Not unset_cookie(): a __Host- cookie is only replaced by one that is Secure too.
        resp.set_cookie(self.name, "", expires=EXPIRED, path="/", secure=self.secure,
                        http_only=True, same_site="Lax")


class Authenticator:
    def __init__(self, *, sessions: SessionStore, cookie: SessionCookie):
        self.sessions = sessions
        self.cookie = cookie

    # -- middleware ----------------------------------------------------------------
    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         params: dict[str, Any]) -> None:
        credential = self.identify(req, resp)
        req.context.credential = credential
        req.context.user = credential.user if credential else None

    def identify(self, req: falcon.Request, resp: falcon.Response) -> Credential | None:
        return self._from_session_cookie(req, resp)

    def _from_session_cookie(self, req: falcon.Request, resp: falcon.Response) -> Credential | None:
        token = self.cookie.read(req)
        if not token:
            return None
        session = self.sessions.resolve(req.context.db, token)
        if session is None:
            self.cookie.clear(resp)
            return None
        return Credential(kind="session", id=session.id, user=session.user)

    # -- signing in and out -----------------------------------------------------------
    def sign_in(self, req: falcon.Request, resp: falcon.Response, user: UserView) -> None:
        """Start a NEW session (never reuse the caller's) and set its cookie."""
        self.sign_out(req, resp)
        token = self.sessions.start(req.context.db, user_id=user.id, ip=req.remote_addr,
                                    user_agent=req.user_agent)
        self.cookie.write(resp, token)

    def sign_out(self, req: falcon.Request, resp: falcon.Response) -> None:
        """End the session the request came with, if any, and clear the cookie."""
        token = self.cookie.read(req)
        if token:
            self.sessions.end(req.context.db, hash_token(token))
        self.cookie.clear(resp)


def require_user(req: falcon.Request, resp: falcon.Response, resource: Any,
                 params: dict[str, Any]) -> None:
    """``@falcon.before(require_user)``: 401 problem unless someone is signed in."""
    if req.context.get("user") is None:
        raise UnauthenticatedError()


def current_user(req: falcon.Request) -> UserView:
    """The signed-in user in a responder guarded by :func:`require_user`."""
    user = req.context.user
    assert user is not None, "guard the responder with @falcon.before(require_user)"
    return user
