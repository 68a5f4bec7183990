"""``create_app``: build every collaborator once and hand it to the resources.

Resources are thin, stateless nouns (``<domain>/resources.py``) that waitress
threads share; per-request state lives in ``req.context`` (``request_id``,
``db``, ``user``, ``credential``). Each domain's ``routes(...)`` returns its
:class:`~launchpad_web.openapi.Route` list; the OpenAPI document is built from
the very same list.
"""

from __future__ import annotations

import falcon
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

import launchpad_core
from launchpad_core import Launchpad, default_launchpad

from .accounts import resources as accounts_resources
from .accounts.auth import Authenticator, SessionCookie
from .accounts.csrf import CsrfGuard
from .accounts.passwords import Passwords
from .accounts.resets import PasswordResets
from .accounts.services import AccountService
from .accounts.sessions import SessionStore
from .accounts.throttling import LoginThrottle, SignupThrottle
from .accounts.tokens import TokenStore
from .billing import resources as billing_resources
from .billing.quotas import Quotas
from .billing.services import BillingService, cancel_with_account
from .billing.webhooks import WebhookProcessor
from .clock import Clock, system_clock
from .db import make_engine, make_session_factory
from .evaluation import ClientAddress, Evaluator
from .flood import AddressRate
from .forges import resources as forges_resources
from .forges.services import ForgeService
from .health import HealthResource, forges_health
from .jobs import resources as jobs_resources
from .jobs.queue import Queue
from .jobs.services import JobService
from .jobs.slots import RedisCounter, StreamSlots
from .jobs.storage import ArtifactStorage
from .metrics import MetricsResource, RequestMetrics, exposition_registry
from .middleware import BodyLimit, DbSession, LaunchpadRequest, RequestLog
from .migrate import head_revision
from .notifications import Notifier
from .openapi import OpenApiResource, Route, build_document
from .pages import install as install_pages
from .personal_data import AccountExport
from .problems import install_error_handlers
from .projects import resources as projects_resources
from .projects.services import ProjectService
from .publishing import resources as publishing_resources
from .publishing.services import PublishService
from .request_bodies import JSON_HANDLER
from .settings import WebSettings
from .sources import resources as sources_resources
from .sources.services import SourceService
from .teams import resources as teams_resources
from .teams.services import TeamService, leave_with_account
from .templates import resources as templates_resources
from .templates.cache import ListPages, TemplateListCache
from .templates.database_pages import DatabaseListCache
from .templates.services import TemplateService
from .templates.transfer import TemplateTransfer
from .updates import resources as updates_resources
from .updates.services import UpdateService
from .usage import DomainUsage

OPENAPI_PATH = "/api/openapi.json"


def create_app(
    settings: WebSettings,
    *,
    session_factory: sessionmaker | None = None,
    launchpad: Launchpad | None = None,
    clock: Clock = system_clock,
    job_queue: Queue,
    storage: ArtifactStorage,
) -> falcon.App:
    """The WSGI app. Tests pass a ``session_factory`` bound to their transaction and a clock;
    the job queue and the artifact storage come from the caller
    (:func:`launchpad_worker.compose.service_app` makes both)."""
    launchpad = launchpad or default_launchpad()
    if session_factory is None:
        engine = make_engine(settings.database_url, pool_size=settings.threads)
        session_factory = make_session_factory(engine)
    billing = launchpad.hooks.billing_provider(settings=settings.billing.provider_settings())

    cookie = SessionCookie(secure=settings.secure_cookies, max_age=settings.session_max)
    sessions = SessionStore(idle=settings.session_idle, absolute=settings.session_max,
                            clock=clock)
    auth = Authenticator(sessions=sessions, tokens=TokenStore(clock=clock), cookie=cookie)
    template_cache = list_cache(settings, session_factory)
    passwords = Passwords(settings.password_hashing)
    accounts = AccountService(passwords=passwords, clock=clock,
                              throttle=LoginThrottle(clock=clock),
                              signups=SignupThrottle(
                                  clock=clock, per_address=settings.signups_per_address),
                              on_delete=(cancel_with_account(billing),
                                         leave_with_account(template_cache)))

    plans_enforced = settings.billing.plans_enforced(billing.name)
    quotas = make_quotas(settings, billing_name=billing.name, clock=clock)
    teams = TeamService(quotas=quotas, clock=clock, template_lists=template_cache,
                        public_url=settings.public_url)
    evaluator = Evaluator(settings.evaluation)
    jobs = JobService(quotas=quotas, clock=clock, evaluator=evaluator)
    templates = TemplateService(quotas=quotas, clock=clock, evaluator=evaluator,
                                cache=template_cache)
    projects = ProjectService()
    updates = UpdateService(quotas=quotas, clock=clock, evaluator=evaluator)

    forges = forge_service(settings, launchpad=launchpad, accounts=accounts, clock=clock)
    publishing = PublishService(forges=forges, clock=clock) if forges else None
    sources = SourceService(forges=forges, clock=clock, public_url=settings.public_url,
                            quotas=quotas)
    notifier = Notifier(launchpad.hooks, settings.jobs.smtp)
    resets = PasswordResets(passwords=passwords, sessions=sessions, throttle=accounts.throttle,
                            clock=clock, public_url=settings.public_url) \
        if settings.jobs.smtp.host else None  # no email, no reset links
    billing_service = BillingService(provider=billing, quotas=quotas,
                                     public_url=settings.public_url)
    openapi = OpenApiResource()
    routes = [
        *accounts_resources.routes(accounts=accounts, auth=auth,
                                   export=AccountExport(clock=clock), resets=resets,
                                   notifier=notifier),
        *teams_resources.routes(teams=teams, notifier=notifier),
        *templates_resources.routes(templates=templates, cache=template_cache,
                                    transfer=TemplateTransfer(templates=templates,
                                                              evaluator=evaluator)),
        *projects_resources.routes(projects=projects),
        *updates_resources.routes(updates=updates, queue=job_queue, storage=storage),
        *billing_resources.routes(
            billing=billing_service,
            webhooks=WebhookProcessor(provider=billing, clock=clock,
                                      past_due_grace=settings.billing.past_due_grace)),
        *jobs_resources.routes(jobs=jobs, queue=job_queue, storage=storage,
                               session_factory=session_factory, settings=settings.jobs,
                               slots=StreamSlots(
                                   total=settings.jobs.event_streams,
                                   per_user=settings.jobs.event_streams_per_user,
                                   longest=settings.jobs.event_stream,
                                   users=RedisCounter.from_url(settings.redis_url)
                                   if settings.redis_url else None)),
        Route("/api/health", HealthResource(version=launchpad_core.__version__,
                                            expected_revision=head_revision(),
                                            billing_provider=billing.name,
                                            plans_enforced=plans_enforced,
                                            queue=job_queue,
                                            forges=forges_health(forges))),
        Route(OPENAPI_PATH, openapi),
        *(forges_resources.routes(forges=forges) if forges else ()),
        *(publishing_resources.routes(publishing=publishing, queue=job_queue)
          if publishing else ()),
        *sources_resources.routes(sources=sources, queue=job_queue),
    ]
    openapi.document = build_document(routes, version=launchpad_core.__version__,
                                      cookie_name=cookie.name)
    if settings.metrics_token:  # no token, no route: never public by accident (not API)
        bind = session_factory.kw.get("bind")
        routes.append(Route("/metrics", MetricsResource(settings.metrics_token, (
            exposition_registry(engine=bind if isinstance(bind, sa.Engine) else None,
                                pending=job_queue.pending,
                                multiprocess=settings.metrics_multiprocess)))))

    app = falcon.App(request_type=LaunchpadRequest, middleware=[
        RequestMetrics(),
        RequestLog(),
        *([AddressRate(settings.requests_per_address)] if settings.requests_per_address else []),
        ClientAddress(),
        BodyLimit(settings.max_body_bytes),
        DbSession(session_factory),
        auth,
        CsrfGuard(public_url=settings.public_url),
    ])
    app.resp_options.secure_cookies_by_default = settings.secure_cookies
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = JSON_HANDLER
    install_error_handlers(app)
    for route in routes:
        app.add_route(route.path, route.resource, suffix=route.suffix)
    install_pages(app, secure=settings.secure_cookies, launchpad=launchpad, accounts=accounts,
                  auth=auth, templates=templates, jobs=jobs, queue=job_queue,
                  plans=settings.billing.plans if plans_enforced else None,
                  billing=billing_service, teams=teams, notifier=notifier,
                  api_document=lambda: openapi.document, forges=forges,
                  resets=resets, projects=projects, publishing=publishing, sources=sources,
                  updates=updates)
    return app


def make_quotas(settings: WebSettings, *, billing_name: str, clock: Clock) -> Quotas:
    """The plan limits, counted on the domains' rows (the API's and the workers')."""
    return Quotas(usage=DomainUsage(), plans=settings.billing.plans, clock=clock,
                  enforced=settings.billing.plans_enforced(billing_name),
                  past_due_grace=settings.billing.past_due_grace)


def list_cache(settings: WebSettings, session_factory: sessionmaker) -> ListPages | None:
    """The template list cache: Redis's when configured, else generations kept in the
    database itself; none for sessions bound to a connection (a test's transaction,
    which other connections cannot see)."""
    if settings.redis_url:
        return TemplateListCache.from_url(settings.redis_url)
    bind = session_factory.kw.get("bind")
    return DatabaseListCache(bind) if isinstance(bind, sa.Engine) else None


def forge_service(settings: WebSettings, *, launchpad: Launchpad, accounts: AccountService,
                  clock: Clock) -> ForgeService | None:
    """The forges the plugins offer for these settings; None without encryption keys
    (forge features are off, ``/api/health`` says so)."""
    return ForgeService.from_settings(settings, launchpad=launchpad, accounts=accounts,
                                      clock=clock)
