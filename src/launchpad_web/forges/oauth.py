"""The OAuth 2.0 authorization-code flow with ``state`` and PKCE (S256), through
Authlib's client.

:meth:`OAuthFlows.start` makes a random ``state`` and PKCE verifier and keeps them,
with what the flow is for (``signin`` or ``link``, the user linking, whether it asks
for repository access too, where to go after), in a short-lived cookie encrypted
with the service's keys: nothing is stored server-side before the forge answers.
:meth:`OAuthFlows.finish` clears that cookie whatever happens, refuses a callback
whose ``state`` is not the cookie's, then trades the code for tokens. A code used
twice is refused by the forge (``forge_refused``): the flow never reuses one.

Scopes are asked for incrementally: signing in asks only for the forge's sign-in
scopes; a flow started with ``repositories`` adds its ``repository_scopes`` (the
first time the person publishes, imports a private template or gets a pull request).
The tokens carry the scopes the forge granted (its ``scope`` answer, comma- or
space-separated; when it says none, RFC 6749 says they are the ones asked for).
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

import attrs
import falcon
import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError

from launchpad_core.plugins.forges import Forge

from ..accounts.auth import EXPIRED
from ..clock import Clock
from ..errors import ForgeRefusedError, ForgeUnreachableError, OAuthStateError
from .encryption import TokenCipher, UnreadableSecretError

FLOW_SECONDS = 600
TIMEOUT_SECONDS = 10
INTENTS = ("signin", "link")


@attrs.frozen
class PendingFlow:
    """What the flow's cookie carries between the start and the forge's callback."""

    forge: str
    state: str = attrs.field(repr=False)
    verifier: str = attrs.field(repr=False)
    intent: str = attrs.field(validator=attrs.validators.in_(INTENTS))
    user_id: str | None = None
    next: str = "/dashboard"
    repositories: bool = False


@attrs.frozen
class ForgeTokens:
    """``scopes``: what the forge granted; None when a refresh did not say (unchanged)."""

    access_token: str = attrs.field(repr=False)
    refresh_token: str | None = attrs.field(repr=False)
    expires_at: datetime | None
    scopes: tuple[str, ...] | None = None


class OAuthFlows:
    def __init__(self, *, cipher: TokenCipher, public_url: str, secure: bool, clock: Clock):
        self.cipher = cipher
        self.public_url = public_url
        self.secure = secure
        self.clock = clock
        self.cookie = "__Host-lp_oauth" if secure else "lp_oauth"

    def redirect_uri(self, forge: Forge) -> str:
        return f"{self.public_url}/auth/{forge.name}/callback"

    def start(self, resp: falcon.Response, forge: Forge, *, intent: str,
              user_id: str | None = None, next: str = "/dashboard",
              repositories: bool = False) -> str:
        """The forge's authorization URL to send the browser to; sets the flow's cookie."""
        flow = PendingFlow(forge=forge.name, state=secrets.token_urlsafe(32),
                           verifier=secrets.token_urlsafe(64), intent=intent, user_id=user_id,
                           next=next, repositories=repositories)
        url, _ = self._client(forge, requested(forge, repositories)).create_authorization_url(
            forge.oauth.authorize_url, state=flow.state, code_verifier=flow.verifier)
        # SameSite=Lax: the cookie comes back with the forge's top-level redirect.
        resp.set_cookie(self.cookie, self.cipher.encrypt(json.dumps(attrs.asdict(flow))),
                        max_age=FLOW_SECONDS, path="/", secure=self.secure, http_only=True,
                        same_site="Lax")
        return url

    def finish(self, req: falcon.Request, resp: falcon.Response,
               forge: Forge) -> tuple[PendingFlow, ForgeTokens]:
        """The flow this callback ends, and the tokens its code was traded for."""
        flow = self._pending(req)
        resp.set_cookie(self.cookie, "", expires=EXPIRED, path="/", secure=self.secure,
                        http_only=True, same_site="Lax")
        state = req.get_param("state") or ""
        if flow is None or flow.forge != forge.name or \
                not secrets.compare_digest(state.encode(), flow.state.encode()):
            raise OAuthStateError()
        if req.get_param("error"):
            raise ForgeRefusedError(f"{forge.label} did not grant access "
                                    f"({req.get_param('error')[:100]})")
        code = req.get_param("code")
        if not code:
            raise ForgeRefusedError(f"{forge.label} sent no authorization code back")
        asked = requested(forge, flow.repositories)
        return flow, self._token_request(forge, lambda client: client.fetch_token(
            forge.oauth.token_url, code=code, code_verifier=flow.verifier,
            timeout=TIMEOUT_SECONDS), asked=asked)

    def refresh(self, forge: Forge, refresh_token: str) -> ForgeTokens:
        return self._token_request(forge, lambda client: client.refresh_token(
            forge.oauth.token_url, refresh_token=refresh_token, timeout=TIMEOUT_SECONDS))

    def _token_request(self, forge: Forge, call: Any,
                       asked: tuple[str, ...] | None = None) -> ForgeTokens:
        try:
            with self._client(forge, asked or ()) as client:
                token = call(client)
        except OAuthError as exc:
            raise ForgeRefusedError(f"{forge.label} refused the authorization "
                                    f"({str(exc.error)[:100]})") from None
        except (requests.RequestException, ValueError) as exc:
            raise ForgeUnreachableError(
                f"{forge.label} did not answer as expected: {exc.__class__.__name__}") from None
        if not isinstance(token.get("access_token"), str):
            raise ForgeUnreachableError(f"{forge.label} answered no access token")
        expires_in = token.get("expires_in")
        return ForgeTokens(
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token") or None,
            expires_at=self.clock() + timedelta(seconds=int(expires_in))
            if isinstance(expires_in, int | str) and str(expires_in).isdigit() else None,
            scopes=granted(token.get("scope"), asked))

    def _pending(self, req: falcon.Request) -> PendingFlow | None:
        values = req.get_cookie_values(self.cookie)
        if not values:
            return None
        try:
            return PendingFlow(**json.loads(self.cipher.decrypt(values[0], ttl=FLOW_SECONDS)))
        except (UnreadableSecretError, ValueError, TypeError):
            return None

    def _client(self, forge: Forge, scopes: tuple[str, ...]) -> OAuth2Session:
        return OAuth2Session(
            forge.oauth.client_id, forge.oauth.client_secret,
            token_endpoint_auth_method="client_secret_post",
            scope=" ".join(scopes) or None, redirect_uri=self.redirect_uri(forge),
            code_challenge_method="S256")


def requested(forge: Forge, repositories: bool) -> tuple[str, ...]:
    """The scopes a flow asks for: signing in, plus repositories when ``repositories``."""
    extra = forge.oauth.repository_scopes if repositories else ()
    return tuple(dict.fromkeys((*forge.oauth.scopes, *extra)))


def granted(answered: Any, asked: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The scopes a token response grants: its ``scope`` (GitHub separates them by
    commas, GitLab and RFC 6749 by spaces), else what was ``asked`` (None: not known)."""
    if isinstance(answered, str) and answered.strip():
        return tuple(s for s in re.split(r"[,\s]+", answered) if s)
    return asked
