"""The pages: thin nouns over the same services the API uses.

A page that needs someone signed in sends a visitor to ``/login?next=...``. A form
post checks its CSRF token first, then calls the service; an :class:`ApiError`
with fields is shown again in the form, each message at its field (the API's
``$.email`` or ``$.answers.name`` paths); any other error becomes an error page.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit

import attrs
import falcon

from launchpad_core.model import strict_json
from launchpad_core.model.serialization import structure_template
from launchpad_core.model.variables import VariableType

from ..accounts.auth import Authenticator
from ..accounts.schemas import LoginRequest, SignupRequest
from ..accounts.services import AccountService
from ..billing.plans import PLAN_ORDER, PlanCatalog
from ..billing.services import BillingService
from ..converter import structure
from ..errors import ApiError, ValidationFailedError
from ..jobs.resources import Queue, start_job
from ..jobs.schemas import GenerateRequest
from ..jobs.services import JobService
from ..publishing.resources import start_publish
from ..publishing.schemas import PublishRequest
from ..publishing.services import PublishService
from ..sources.services import NoSourceError, SourceService
from ..templates.schemas import TemplateRequest
from ..templates.services import ListQuery, TemplateService
from .forms import Form, typed_answers
from .questions import questions
from .rendering import Pages
from .security import FIELD, style_nonce

DASHBOARD_PAGE = 10


@attrs.frozen
class FormErrors:
    """Messages by form field (``email``, ``answers.name``) and those of no field."""

    fields: dict[str, str]
    general: tuple[str, ...]

    @classmethod
    def of(cls, ex: ApiError, known: Iterable[str]) -> FormErrors:
        known = set(known)
        fields: dict[str, str] = {}
        general: list[str] = []
        for field, message in _messages(ex):
            path = (field or "").removeprefix("$.")
            name = next((k for k in known if path == k or path.startswith((k + ".", k + "["))),
                        None)
            if name is None:
                general.append(message)
            elif path == name:
                fields[name] = "\n".join(filter(None, (fields.get(name), message)))
            else:  # inside the field's JSON: say where
                fields[name] = "\n".join(filter(None, (fields.get(name), f"{field}: {message}")))
        return cls(fields, tuple(general))


def _messages(ex: ApiError) -> list[tuple[str | None, str]]:
    if ex.errors:
        return [(e.field, e.message) for e in ex.errors]
    return [(ex.field, ex.detail or ex.title)]


NO_ERRORS = FormErrors({}, ())


def require_page_user(req: falcon.Request, resp: falcon.Response, resource: Any,
                      params: dict[str, Any]) -> None:
    if req.context.get("user") is None:
        raise falcon.HTTPSeeOther(f"/login?next={quote(req.relative_uri, safe='/?=&')}")


def local_path(target: str | None, default: str = "/dashboard") -> str:
    """``next=``: only a path on this site (never ``//host`` or a scheme)."""
    parts = urlsplit(target or "")
    if not target or parts.scheme or parts.netloc or not target.startswith("/") or \
            target.startswith(("//", "/\\")):
        return default
    return target


def see_other(resp: falcon.Response, location: str) -> None:
    """A redirect after a successful post (set, not raised: a raised one would count as
    a failed request and roll its writes back)."""
    resp.status = falcon.HTTP_303
    resp.location = location


def failed(req: falcon.Request) -> None:
    """A form shown again after an error: nothing of the attempt is kept, unless it
    must be (a failed login is counted)."""
    if not req.context.get("commit_on_error"):
        req.context.db.rollback()


class LandingPage:
    """``plans`` None: a self-hosted service, plans not enforced (the page says so)."""

    def __init__(self, pages: Pages, plans: PlanCatalog | None):
        self.pages = pages
        self.plans = plans

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        plans = ([(plan, self.plans[plan]) for plan in PLAN_ORDER]
                 if self.plans is not None else None)
        self.pages.render(req, resp, "landing.html", plans=plans)


class SignupPage:
    fields = ("email", "password")

    def __init__(self, pages: Pages, accounts: AccountService, auth: Authenticator):
        self.pages = pages
        self.accounts = accounts
        self.auth = auth

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.pages.render(req, resp, "signup.html", errors=NO_ERRORS, email="")

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = Form.read(req)
        self.pages.form_token.check(req, form.get(FIELD))
        try:
            body = structure({"email": form.get("email"), "password": form.get("password")},
                             SignupRequest)
            user = self.accounts.signup(req.context.db, email=body.email, password=body.password,
                                        address=req.remote_addr)
        except ApiError as ex:
            failed(req)
            self.pages.render(req, resp, "signup.html", status=ex.status,
                              errors=FormErrors.of(ex, self.fields), email=form.get("email"))
            return
        self.auth.sign_in(req, resp, user)
        see_other(resp, "/dashboard")


class LoginPage:
    fields = ("email", "password")

    def __init__(self, pages: Pages, accounts: AccountService, auth: Authenticator):
        self.pages = pages
        self.accounts = accounts
        self.auth = auth

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.pages.render(req, resp, "login.html", errors=NO_ERRORS, email="",
                          next=local_path(req.get_param("next")),
                          reset_done=req.get_param("reset") == "done")

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = Form.read(req)
        self.pages.form_token.check(req, form.get(FIELD))
        req.context.commit_on_error = True
        try:
            body = structure({"email": form.get("email"), "password": form.get("password")},
                             LoginRequest)
            user = self.accounts.authenticate(req.context.db, email=body.email,
                                              password=body.password, address=req.remote_addr)
        except ApiError as ex:
            self.pages.render(req, resp, "login.html", status=ex.status,
                              errors=FormErrors.of(ex, self.fields), email=form.get("email"),
                              next=local_path(form.get("next")))
            resp.set_headers(ex.headers)
            return
        self.auth.sign_in(req, resp, user)
        see_other(resp, local_path(form.get("next")))


class LogoutPage:
    def __init__(self, pages: Pages, auth: Authenticator):
        self.pages = pages
        self.auth = auth

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.pages.form_token.check(req, Form.read(req).get(FIELD))
        self.auth.sign_out(req, resp)
        see_other(resp, "/")


class DashboardPage:
    def __init__(self, pages: Pages, templates: TemplateService, jobs: JobService,
                 billing: BillingService):
        self.pages = pages
        self.templates = templates
        self.jobs = jobs
        self.billing = billing

    @falcon.before(require_page_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        user_id = req.context.user.id
        search = (req.get_param("q") or "").strip()
        query = ListQuery(limit=DASHBOARD_PAGE, cursor=req.get_param("cursor"),
                          search=search or None)
        page = self.templates.list(req.context.db, user_id=user_id, query=query)
        names = {t.id: t.name for t in page.templates}
        self.pages.render(req, resp, "dashboard.html", page=page, search=search,
                          jobs=self.jobs.recent(req.context.db, user_id=user_id),
                          names=names, first_page=query.cursor is None,
                          subscription=self.billing.overview(req.context.db, req.context.user))


class GeneratePage:
    def __init__(self, pages: Pages, templates: TemplateService, jobs: JobService, queue: Queue,
                 types: dict[str, VariableType]):
        self.pages = pages
        self.templates = templates
        self.jobs = jobs
        self.queue = queue
        self.types = types

    @falcon.before(require_page_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID) -> None:
        view = self.templates.get(req.context.db, user_id=req.context.user.id,
                                  template_id=template_id)
        self._render(req, resp, view, NO_ERRORS)

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID) -> None:
        form = Form.read(req)
        self.pages.form_token.check(req, form.get(FIELD))
        view = self.templates.get(req.context.db, user_id=req.context.user.id,
                                  template_id=template_id)
        template = structure_template(view.definition)
        try:
            answers = typed_answers(template, form, self.types)
            job = start_job(req, self.jobs, self.queue, GenerateRequest(
                template_id=view.id, answers=answers, version=view.version))
        except ApiError as ex:
            failed(req)
            known = [f"answers.{v.name}" for v in template.variables]
            self._render(req, resp, view, FormErrors.of(ex, known), form=form, status=ex.status)
            return
        see_other(resp, f"/jobs/{job.id}")

    def _render(self, req: falcon.Request, resp: falcon.Response, view: Any, errors: FormErrors,
                *, form: Form | None = None, status: int = 200) -> None:
        template = structure_template(view.definition)
        given = form.answers_text() if form is not None else None
        self.pages.render(req, resp, "generate.html", status=status, template=view,
                          questions=questions(template, given), errors=errors)


STARTER = {
    "name": "my-template",
    "variables": [
        {"name": "project_name", "type": "str", "help": "The project's name"},
        {"name": "licence", "type": "choice", "choices": ["MIT", "Apache-2.0"], "default": "MIT"},
    ],
    "files": [{"path": "{{ project_name }}/README.md",
               "content": "# {{ project_name }}\n\nLicensed under {{ licence }}.\n"}],
}


class NewTemplatePage:
    """A template from its JSON definition (the visual builder will write the same JSON)."""

    fields = ("name", "definition")

    def __init__(self, pages: Pages, templates: TemplateService):
        self.pages = pages
        self.templates = templates

    @falcon.before(require_page_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.pages.render(req, resp, "new_template.html", errors=NO_ERRORS, name="",
                          definition=json.dumps(STARTER, indent=2))

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = Form.read(req)
        self.pages.form_token.check(req, form.get(FIELD))
        try:
            request = structure({"name": form.get("name"),
                                 "definition": _json_field(form.get("definition"))},
                                TemplateRequest)
            view = self.templates.create(req.context.db, user_id=req.context.user.id,
                                         request=request)
        except ApiError as ex:
            failed(req)
            self.pages.render(req, resp, "new_template.html", status=ex.status,
                              errors=FormErrors.of(ex, self.fields), name=form.get("name"),
                              definition=form.get("definition"))
            return
        see_other(resp, f"/templates/{view.id}/edit")


class BuilderPage:
    """The visual template builder: a page over the JSON API (``static/builder.js``
    reads, previews and saves the definition through ``/api/templates/{id}``)."""

    def __init__(self, pages: Pages, templates: TemplateService, types: dict[str, VariableType],
                 sources: SourceService | None = None):
        self.pages = pages
        self.templates = templates
        self.types = types
        self.sources = sources

    @falcon.before(require_page_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID) -> None:
        view = self.templates.get(req.context.db, user_id=req.context.user.id,
                                  template_id=template_id)
        source = None
        if self.sources is not None:
            with contextlib.suppress(NoSourceError):  # not imported from a repository
                source = self.sources.source(req.context.db, user_id=req.context.user.id,
                                             template_id=template_id)
        self.pages.render(req, resp, "builder.html", template=view, types=sorted(self.types),
                          source=source, max_body_bytes=req.context.max_body_bytes,
                          style_nonce=style_nonce(req))


def _json_field(text: str) -> Any:
    """The definition typed in the form, read as strictly as an API body (no nesting too
    deep to parse, no value nothing here can hold), 422 at ``$.definition...``."""
    try:
        return strict_json.loads(text)
    except strict_json.JsonSyntaxError as exc:
        raise ValidationFailedError.one("invalid_json", exc.message, "$.definition") from None
    except strict_json.JsonValueError as exc:
        raise ValidationFailedError.from_problems(exc.problems, root="$.definition") from None


class JobPage:
    """A job, its downloads and, with forges set up, "Publish to a repository" (a form
    posted to :class:`PublishPage`) with the job's publish jobs."""

    publish_fields = ("forge", "name", "description")

    def __init__(self, pages: Pages, jobs: JobService, publishing: PublishService | None = None):
        self.pages = pages
        self.jobs = jobs
        self.publishing = publishing

    @falcon.before(require_page_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: uuid.UUID) -> None:
        self.render(req, resp, job_id, NO_ERRORS)

    def render(self, req: falcon.Request, resp: falcon.Response, job_id: uuid.UUID,
               errors: FormErrors, *, form: Form | None = None, status: int = 200) -> None:
        user_id = req.context.user.id
        job = self.jobs.get(req.context.db, user_id=user_id, job_id=job_id)
        publishing = None
        if self.publishing is not None:
            publishing = {
                "targets": self.publishing.targets(req.context.db, user_id=user_id),
                "jobs": self.publishing.of_job(req.context.db, user_id=user_id, job_id=job_id),
                "form": {k: form.get(k) for k in (*self.publish_fields, "private")}
                if form is not None else {"private": "true"}}
        self.pages.render(req, resp, "job.html", status=status, job=job, errors=errors,
                          publishing=publishing)


class PublishPage:
    """The job page's "Publish to a repository" form: a publish job, then back to the page."""

    def __init__(self, job_page: JobPage, publishing: PublishService, queue: Queue):
        self.job_page = job_page
        self.publishing = publishing
        self.queue = queue

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, job_id: uuid.UUID) -> None:
        form = Form.read(req)
        self.job_page.pages.form_token.check(req, form.get(FIELD))
        request = PublishRequest(forge=form.get("forge"), name=form.get("name").strip() or None,
                                 private=form.get("private") == "true",
                                 description=form.get("description").strip())
        try:
            start_publish(req, self.publishing, self.queue, job_id, request)
        except ApiError as ex:
            failed(req)
            self.job_page.render(req, resp, job_id, FormErrors.of(ex, JobPage.publish_fields),
                                 form=form, status=ex.status)
            return
        see_other(resp, f"/jobs/{job_id}#publish")

