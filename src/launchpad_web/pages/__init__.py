"""The web app's pages: server-rendered HTML for people, beside the JSON API.

``install(app, ...)`` adds the pages' routes (outside ``/api``, and outside the
OpenAPI document), their security headers (:mod:`.security`), the static assets
(:mod:`.assets`) and HTML error pages (:mod:`.errors`). Page templates are in
``templates/``, styles and scripts in ``static/`` (vendored front-end packages in
``static/vendor/``, from ``scripts/build_assets.sh``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import falcon

from launchpad_core import Launchpad

from ..accounts.auth import Authenticator
from ..accounts.resets import PasswordResets
from ..accounts.services import AccountService
from ..billing.plans import PlanCatalog
from ..billing.services import BillingService
from ..forges.services import ForgeService
from ..jobs.resources import Queue
from ..jobs.services import JobService
from ..notifications import Notifier
from ..projects.services import ProjectService
from ..publishing.services import PublishService
from ..sources.services import SourceService
from ..teams.services import TeamService
from ..templates.services import TemplateService
from ..updates.services import UpdateService
from . import account, password_reset
from . import billing as billing_pages
from . import forges as forge_pages
from . import projects as project_pages
from . import resources as pages
from . import sources as source_pages
from . import teams as team_pages
from .api_reference import ApiReferencePage, ApiTryPage
from .assets import Assets, StaticResource
from .errors import install_page_errors
from .rendering import Pages
from .security import FormToken, PageHeaders


def install(app: falcon.App, *, secure: bool, launchpad: Launchpad, accounts: AccountService,
            auth: Authenticator, templates: TemplateService, jobs: JobService, queue: Queue,
            plans: PlanCatalog | None, billing: BillingService, teams: TeamService,
            notifier: Notifier, api_document: Callable[[], Mapping[str, Any]],
            projects: ProjectService, updates: UpdateService,
            forges: ForgeService | None = None,
            resets: PasswordResets | None = None, publishing: PublishService | None = None,
            sources: SourceService | None = None, assets: Assets | None = None) -> None:
    renderer = Pages(assets=assets or Assets(), form_token=FormToken(secure=secure),
                     globals={"openapi_path": "/api/openapi.json",
                              "forges": forges.available() if forges else [],
                              "password_resets": resets is not None})
    types = launchpad.hooks.variable_types()
    app.add_middleware(PageHeaders(form_targets=forges.authorization_origins()
                                   if forges else ()))
    install_page_errors(app, renderer, auth)
    app.add_route("/", pages.LandingPage(renderer, plans))
    app.add_route("/signup", pages.SignupPage(renderer, accounts, auth))
    app.add_route("/login", pages.LoginPage(renderer, accounts, auth))
    app.add_route("/logout", pages.LogoutPage(renderer, auth))
    app.add_route("/dashboard", pages.DashboardPage(renderer, templates, jobs, billing))
    app.add_route("/templates/new", pages.NewTemplatePage(renderer, templates))
    app.add_route("/templates/{template_id:uuid}/edit",
                  pages.BuilderPage(renderer, templates, types, sources))
    if sources is not None:
        source_pages.install(app, renderer, sources, queue, forges)
    app.add_route("/templates/{template_id:uuid}/generate",
                  pages.GeneratePage(renderer, templates, jobs, queue, types))
    job_page = pages.JobPage(renderer, jobs, publishing)
    app.add_route("/jobs/{job_id:uuid}", job_page)
    if publishing is not None:
        app.add_route("/jobs/{job_id:uuid}/publish",
                      pages.PublishPage(job_page, publishing, queue))
    account_page = account.install(app, renderer, accounts, auth, forges)
    if forges is not None:
        forge_pages.install(app, renderer, account_page, forges, auth)
    billing_pages.install(app, renderer, billing, plans)
    password_reset.install(app, renderer, resets, notifier)
    team_pages.install(app, renderer, teams, notifier)
    project_pages.install(app, renderer, templates=templates, projects=projects, updates=updates,
                          queue=queue, types=types)
    app.add_route("/docs/api", ApiReferencePage(renderer, api_document))
    app.add_route("/docs/api/try", ApiTryPage(renderer))
    app.add_route("/static/{name}", StaticResource(renderer.assets))
