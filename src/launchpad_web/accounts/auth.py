"""Authentication, in one module: who is calling, and the hook that requires someone.

:class:`Authenticator` is a middleware that puts the signed-in user (a
:class:`UserView`) or None in ``req.context.user`` and the credential used in
``req.context.credential``. :meth:`Authenticator.identify` takes an API token
(``Authorization: Bearer lp_...``) when one is sent, and only then, otherwise the
session cookie; each a ``_from_*`` method returning a :class:`Credential` or None.
A Bearer token that is unknown, expired or revoked is a 401 ``invalid_token``
(never a fallback to the cookie). Responders that need a user use
``@falcon.before(require_user)``; those a token must not reach (token management,
password change, account deletion) ``@falcon.before(require_session)``. Every 401
carries ``WWW-Authenticate: Bearer``. A resource with ``own_credentials = True``
(``/metrics``) is left alone: it checks a credential of its own.

A session credential carries its CSRF token: an HMAC of the session's cookie
token, so it needs no storage, changes with every new session and cannot be
derived from the stored session id (see :mod:`launchpad_web.accounts.csrf`).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import falcon

from ..errors import InvalidTokenError, SessionRequiredError, UnauthenticatedError
from .schemas import UserView
from .sessions import SessionStore, hash_token
from .tokens import TokenStore

EXPIRED = datetime(1970, 1, 1, tzinfo=UTC)
CSRF_HEADER = "X-CSRF-Token"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="launchpad"'}
INVALID_TOKEN_CHALLENGE = {
    "WWW-Authenticate": 'Bearer realm="launchpad", error="invalid_token"'}


def csrf_token_for(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"launchpad csrf", hashlib.sha256).hexdigest()


@attrs.frozen
class Credential:
    """How the caller proved who they are: ``kind`` is ``session`` or ``token``;
    ``id`` the session id or the API token's id; ``csrf_token`` for sessions."""

    kind: str
    id: str
    user: UserView
    csrf_token: str | None = None


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
    def __init__(self, *, sessions: SessionStore, tokens: TokenStore, cookie: SessionCookie):
        self.sessions = sessions
        self.tokens = tokens
        self.cookie = cookie

    # -- middleware ----------------------------------------------------------------
    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         params: dict[str, Any]) -> None:
        if getattr(resource, "own_credentials", False):
            # it checks a credential of its own (/metrics: the scraper's token)
            req.context.credential = req.context.user = None
            return
        credential = self.identify(req, resp)
        req.context.credential = credential
        req.context.user = credential.user if credential else None

    def identify(self, req: falcon.Request, resp: falcon.Response) -> Credential | None:
        scheme, _, secret = (req.auth or "").strip().partition(" ")
        if scheme.lower() == "bearer":
            return self._from_bearer(req, secret.strip())
        return self._from_session_cookie(req, resp)

    def _from_bearer(self, req: falcon.Request, secret: str) -> Credential:
        owner = self.tokens.resolve(lambda: req.context.db, secret)
        if owner is None:
            raise InvalidTokenError(headers=INVALID_TOKEN_CHALLENGE)
        return Credential(kind="token", id=str(owner.token_id), user=owner.user)

    def _from_session_cookie(self, req: falcon.Request, resp: falcon.Response) -> Credential | None:
        token = self.cookie.read(req)
        if not token:
            return None
        session = self.sessions.resolve(req.context.db, token)
        if session is None:
            self.cookie.clear(resp)
            return None
        return Credential(kind="session", id=session.id, user=session.user,
                          csrf_token=csrf_token_for(token))

    # -- signing in and out -----------------------------------------------------------
    def sign_in(self, req: falcon.Request, resp: falcon.Response, user: UserView) -> None:
        """Start a NEW session (never reuse the caller's), set its cookie and answer
        its CSRF token in ``X-CSRF-Token``; the user's expired sessions are purged."""
        self.sign_out(req, resp)
        self.sessions.purge_expired(req.context.db, user_id=user.id)
        token = self.sessions.start(req.context.db, user_id=user.id, ip=req.remote_addr,
                                    user_agent=req.user_agent)
        self.cookie.write(resp, token)
        resp.set_header(CSRF_HEADER, csrf_token_for(token))

    def sign_in_only_here(self, req: falcon.Request, resp: falcon.Response,
                          user: UserView) -> None:
        """End every session of ``user`` and start a new one here (password change)."""
        self.sessions.end_all(req.context.db, user.id)
        self.sign_in(req, resp, user)

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
        raise UnauthenticatedError(headers=CHALLENGE)


def require_session(req: falcon.Request, resp: falcon.Response, resource: Any,
                    params: dict[str, Any]) -> None:
    """``@falcon.before(require_session)``: a signed-in browser session, not an API token
    (401 when nobody is signed in, 403 ``session_required`` for a token)."""
    require_user(req, resp, resource, params)
    if req.context.credential.kind != "session":
        raise SessionRequiredError()


def current_user(req: falcon.Request) -> UserView:
    """The signed-in user in a responder guarded by :func:`require_user`."""
    user = req.context.user
    assert user is not None, "guard the responder with @falcon.before(require_user)"
    return user
