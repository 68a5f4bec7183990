"""The OAuth 2.0 authorization-code flow with ``state`` and PKCE (S256), through
Authlib's client.

:meth:`OAuthFlows.start` makes a random ``state`` and PKCE verifier and keeps them,
with what the flow is for (``signin`` or ``link``, the user linking, where to go
after), in a short-lived cookie encrypted with the service's keys: nothing is
stored server-side before the forge answers. :meth:`OAuthFlows.finish` clears that
cookie whatever happens, refuses a callback whose ``state`` is not the cookie's,
then trades the code for tokens. A code used twice is refused by the forge
(``forge_refused``): the flow never reuses one.
"""

from __future__ import annotations

import json
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


@attrs.frozen
class ForgeTokens:
    access_token: str = attrs.field(repr=False)
    refresh_token: str | None = attrs.field(repr=False)
    expires_at: datetime | None


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
              user_id: str | None = None, next: str = "/dashboard") -> str:
        """The forge's authorization URL to send the browser to; sets the flow's cookie."""
        flow = PendingFlow(forge=forge.name, state=secrets.token_urlsafe(32),
                           verifier=secrets.token_urlsafe(64), intent=intent, user_id=user_id,
                           next=next)
        url, _ = self._client(forge).create_authorization_url(
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
        return flow, self._token_request(forge, lambda client: client.fetch_token(
            forge.oauth.token_url, code=code, code_verifier=flow.verifier,
            timeout=TIMEOUT_SECONDS))

    def refresh(self, forge: Forge, refresh_token: str) -> ForgeTokens:
        return self._token_request(forge, lambda client: client.refresh_token(
            forge.oauth.token_url, refresh_token=refresh_token, timeout=TIMEOUT_SECONDS))

    def _token_request(self, forge: Forge, call: Any) -> ForgeTokens:
        try:
            with self._client(forge) as client:
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
            if isinstance(expires_in, int | str) and str(expires_in).isdigit() else None)

    def _pending(self, req: falcon.Request) -> PendingFlow | None:
        values = req.get_cookie_values(self.cookie)
        if not values:
            return None
        try:
            return PendingFlow(**json.loads(self.cipher.decrypt(values[0], ttl=FLOW_SECONDS)))
        except (UnreadableSecretError, ValueError, TypeError):
            return None

    def _client(self, forge: Forge) -> OAuth2Session:
        return OAuth2Session(
            forge.oauth.client_id, forge.oauth.client_secret,
            token_endpoint_auth_method="client_secret_post",
            scope=" ".join(forge.oauth.scopes) or None, redirect_uri=self.redirect_uri(forge),
            code_challenge_method="S256")
