"""``create_app``: build every collaborator once and hand it to the resources.

Resources are thin, stateless nouns (``<domain>/resources.py``) that waitress
threads share; per-request state lives in ``req.context`` (``request_id``,
``db``, ``user``, ``credential``). Each domain's ``routes(...)`` returns its
:class:`~launchpad_web.openapi.Route` list; the OpenAPI document is built from
the very same list.
"""

from __future__ import annotations

import falcon
from sqlalchemy.orm import sessionmaker

import launchpad_core
from launchpad_core import Launchpad, default_launchpad

from .accounts import resources as accounts_resources
from .accounts.auth import Authenticator, SessionCookie
from .accounts.passwords import Passwords
from .accounts.services import AccountService
from .accounts.sessions import SessionStore
from .clock import Clock, system_clock
from .db import make_engine, make_session_factory
from .health import HealthResource
from .middleware import BodyLimit, DbSession, RequestLog
from .migrate import head_revision
from .openapi import OpenApiResource, Route, build_document
from .problems import install_error_handlers
from .settings import WebSettings

OPENAPI_PATH = "/api/openapi.json"


def create_app(
    settings: WebSettings,
    *,
    session_factory: sessionmaker | None = None,
    launchpad: Launchpad | None = None,
    clock: Clock = system_clock,
) -> falcon.App:
    """The WSGI app. Tests pass a ``session_factory`` bound to their transaction and a clock."""
    launchpad = launchpad or default_launchpad()
    if session_factory is None:
        engine = make_engine(settings.database_url, pool_size=settings.threads)
        session_factory = make_session_factory(engine)
    billing = launchpad.hooks.billing_provider(settings=settings.billing)

    cookie = SessionCookie(secure=settings.secure_cookies, max_age=settings.session_max)
    sessions = SessionStore(idle=settings.session_idle, absolute=settings.session_max,
                            clock=clock)
    auth = Authenticator(sessions=sessions, cookie=cookie)
    accounts = AccountService(passwords=Passwords(settings.password_hashing), clock=clock)

    openapi = OpenApiResource()
    routes = [
        *accounts_resources.routes(accounts=accounts, auth=auth),
        Route("/api/health", HealthResource(version=launchpad_core.__version__,
                                            expected_revision=head_revision(),
                                            billing_provider=billing.name)),
        Route(OPENAPI_PATH, openapi),
    ]
    openapi.document = build_document(routes, version=launchpad_core.__version__,
                                      cookie_name=cookie.name)

    app = falcon.App(middleware=[
        RequestLog(),
        BodyLimit(settings.max_body_bytes),
        DbSession(session_factory),
        auth,
    ])
    app.resp_options.secure_cookies_by_default = settings.secure_cookies
    install_error_handlers(app)
    for route in routes:
        app.add_route(route.path, route.resource, suffix=route.suffix)
    return app
