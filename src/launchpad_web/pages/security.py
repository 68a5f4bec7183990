"""Browser security of the pages: response headers and the forms' CSRF token.

:class:`PageHeaders` gives every response outside ``/api`` a strict
Content-Security-Policy (scripts, styles, images, forms and connections only from
this origin, no inline script, ``frame-ancestors 'none'``) and its companions.

A page with a rich text editor (the builder's CodeMirror) calls :func:`style_nonce`;
its response's ``style-src`` then also admits ``<style>`` elements carrying that
fresh nonce (the editor generates its styles at run time). Scripts stay ``'self'``
only, and style attributes stay refused.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

import falcon

from ..errors import CsrfFailedError

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
])
FIELD = "csrf_token"


#: Paths answered for machines, never as pages: the API and the Prometheus scrape.
MACHINE_PATHS = ("/api", "/metrics")


def is_page(req: falcon.Request) -> bool:
    return not any(req.path == p or req.path.startswith(f"{p}/") for p in MACHINE_PATHS)


def style_nonce(req: falcon.Request) -> str:
    """A nonce for this response's script-made ``<style>`` elements (one per request)."""
    if "style_nonce" not in req.context:
        req.context.style_nonce = secrets.token_urlsafe(18)
    return req.context.style_nonce


class PageHeaders:
    """Security headers on every page (not on ``/api``, whose answers are JSON).
    ``form_targets``: origins forms may reach besides this one (a form's redirect
    counts): the configured forges' authorization pages."""

    def __init__(self, *, form_targets: tuple[str, ...] = ()):
        self.policy = CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", " ".join(("form-action 'self'", *form_targets)))

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        if not is_page(req):
            return
        policy = self.policy
        if "style_nonce" in req.context:
            policy = policy.replace(
                "style-src 'self'", f"style-src 'self' 'nonce-{req.context.style_nonce}'")
        resp.set_header("Content-Security-Policy", policy)
        resp.set_header("X-Frame-Options", "DENY")
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Referrer-Policy", "same-origin")
        resp.set_header("Cross-Origin-Opener-Policy", "same-origin")
        if not req.path.startswith("/static/"):
            resp.cache_control = ["no-store"]


class FormToken:
    def __init__(self, *, secure: bool):
        self.secure = secure
        self.cookie = "__Host-lp_form" if secure else "lp_form"

    def issue(self, req: falcon.Request, resp: falcon.Response) -> str:
        """The token the page's forms carry (a new pre-session cookie if needed)."""
        credential = req.context.get("credential")
        if credential is not None and credential.csrf_token:
            return credential.csrf_token
        token = self._cookie(req)
        if token is None:
            token = secrets.token_urlsafe(32)
            resp.set_cookie(self.cookie, token, path="/", secure=self.secure, http_only=True,
                            same_site="Strict")
        return token

    def check(self, req: falcon.Request, sent: str | None) -> None:
        credential = req.context.get("credential")
        expected = (credential.csrf_token if credential is not None and credential.csrf_token
                    else self._cookie(req))
        if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            raise CsrfFailedError("the form has expired or did not come from this site; "
                                  "reload the page and send it again")

    def _cookie(self, req: falcon.Request) -> str | None:
        values = req.get_cookie_values(self.cookie)
        return values[0] if values else None
