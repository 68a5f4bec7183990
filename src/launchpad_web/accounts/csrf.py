"""Cross-site request forgery protection, as a middleware after the authenticator.

An unsafe request (POST, PUT, PATCH, DELETE) is let through when:

* it carries an API token (``Authorization: Bearer``): a browser never adds one
  by itself, so no ambient authority is involved;
* or its ``X-CSRF-Token`` header matches the session's token (``GET /api/auth/csrf``
  answers it; sign-up and login answer it in the same header);
* or the browser says it is same-origin: ``Sec-Fetch-Site: same-origin`` or
  ``none`` (typed by the user) when that header is sent, else an ``Origin`` equal
  to ``LAUNCHPAD_PUBLIC_URL``'s origin or to the request's own scheme and host.

Cross-site evidence (another ``Sec-Fetch-Site`` value, another ``Origin``) is a
403 ``csrf_failed`` for every request without a token, signed in or not: that
also refuses login CSRF (a foreign page signing the browser into the attacker's
account). A cookie-authenticated request with neither header nor token is refused
too; an anonymous one without any evidence (a script) passes.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlsplit

import falcon

from ..errors import CsrfFailedError
from .auth import CSRF_HEADER, Credential

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
TRUSTED_FETCH_SITES = frozenset({"same-origin", "none"})


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lowercased (the default port left out)."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}".lower()


class CsrfGuard:
    def __init__(self, *, public_url: str):
        self.public_origin = origin_of(public_url)

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         params: dict[str, Any]) -> None:
        if req.method in SAFE_METHODS:
            return
        credential: Credential | None = req.context.get("credential")
        if credential is not None and credential.kind == "token":
            return
        if self._token_matches(req, credential):
            return
        same_origin = self._same_origin(req)
        if same_origin is False:
            raise CsrfFailedError("cross-site requests are refused; send them from this "
                                  "service's own pages")
        if same_origin is None and credential is not None:
            raise CsrfFailedError(f"send the {CSRF_HEADER} header (GET /api/auth/csrf) "
                                  "or an Origin header")

    def _token_matches(self, req: falcon.Request, credential: Credential | None) -> bool:
        sent = req.get_header(CSRF_HEADER)
        if not sent or credential is None or credential.csrf_token is None:
            return False
        return hmac.compare_digest(sent.encode(), credential.csrf_token.encode())

    def _same_origin(self, req: falcon.Request) -> bool | None:
        """What the browser tells: True same-origin, False cross-site, None nothing."""
        site = req.get_header("Sec-Fetch-Site")
        if site:
            return site.strip().lower() in TRUSTED_FETCH_SITES
        origin = req.get_header("Origin")
        if origin:
            own = f"{req.scheme}://{req.netloc}".lower()
            return origin.strip().lower() in {self.public_origin, own}
        return None
