"""HTML error pages for browsers outside ``/api``.

The API's handlers (:mod:`launchpad_web.problems`) stay the one place an error is
mapped to a status, a code and headers, and where the unexpected ones are logged;
for a page, the problem document they wrote is turned into an HTML page with
the same status and headers. ``/api`` keeps its problem documents.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import falcon

from launchpad_core.errors import ProblemsError

from ..accounts.auth import Authenticator
from ..errors import ApiError
from ..problems import (
    handle_api_error,
    handle_core_problems,
    handle_http_error,
    handle_unexpected,
)
from .rendering import Pages
from .security import is_page

Handler = Callable[[falcon.Request, falcon.Response, Any, Any], None]
HANDLERS: tuple[tuple[type[BaseException], Handler], ...] = (
    (Exception, handle_unexpected),
    (falcon.HTTPError, handle_http_error),
    (ProblemsError, handle_core_problems),
    (ApiError, handle_api_error),
)


def install_page_errors(app: falcon.App, pages: Pages, auth: Authenticator) -> None:
    """Re-register each problem handler wrapped so that pages answer HTML."""
    for exception, handler in HANDLERS:
        app.add_error_handler(exception, _html_for_pages(handler, pages, auth))


def _html_for_pages(handler: Handler, pages: Pages, auth: Authenticator) -> Handler:
    def handle(req: falcon.Request, resp: falcon.Response, ex: Any, params: Any) -> None:
        handler(req, resp, ex, params)
        if not is_page(req):
            return
        _identify(req, resp, auth)
        problem = json.loads(resp.data or b"{}")
        pages.render(req, resp, "error.html", status=resp.status_code, problem=problem)
        resp.data = None

    return handle


def _identify(req: falcon.Request, resp: falcon.Response, auth: Authenticator) -> None:
    """Who is signed in, for the page's header, when no route ran the authenticator
    (an unknown path); an error page is shown anonymously if that fails too."""
    if "credential" in req.context:
        return
    try:
        credential = auth.identify(req, resp)
    except Exception:  # the page reports the first error, not this one
        return
    req.context.credential = credential
    req.context.user = credential.user if credential else None
