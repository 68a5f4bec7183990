"""Templates from repositories in the web app.

``/templates/import``: the "Import from a repository" form (address, ref, format,
the linked forge to read it through, name); a post submits an import job as the API
does (``sources.resources.enqueue``: committed, then queued) and shows it at
``/templates/imports/{id}``, whose log ``static/import.js`` keeps current until the
job ends. The builder (``/templates/{id}/edit``) shows a template's repository with
"Re-import" and "Follow" forms posted to ``/templates/{id}/reimport`` and
``/templates/{id}/follow``.
"""

from __future__ import annotations

import uuid

import falcon

from ..errors import ApiError
from ..forges.services import ForgeService
from ..jobs.queue import Queue
from ..sources.addresses import FORMATS
from ..sources.resources import enqueue
from ..sources.schemas import ReimportRequest, RepositoryImportRequest
from ..sources.services import SourceService
from .forms import Form
from .rendering import Pages
from .resources import NO_ERRORS, FormErrors, failed, require_page_user, see_other
from .security import FIELD

FIELDS = ("source", "ref", "format", "forge", "name")


class ImportPage:
    def __init__(
        self, pages: Pages, sources: SourceService, queue: Queue, forges: ForgeService | None
    ):
        self.pages = pages
        self.sources = sources
        self.queue = queue
        self.forges = forges

    @falcon.before(require_page_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._render(req, resp, NO_ERRORS, {})

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = Form.read(req)
        self.pages.form_token.check(req, form.get(FIELD))
        given = {name: form.get(name).strip() for name in FIELDS}
        request = RepositoryImportRequest(
            **{k: v or None for k, v in given.items() if k != "source"}, source=given["source"]
        )
        try:
            view = self.sources.submit(req.context.db, user_id=req.context.user.id, request=request)
        except ApiError as ex:
            failed(req)
            self._render(req, resp, FormErrors.of(ex, FIELDS), given, status=ex.status)
            return
        enqueue(req, self.queue, view)
        see_other(resp, f"/templates/imports/{view.id}")

    def _render(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        errors: FormErrors,
        given: dict[str, str],
        status: int = 200,
    ) -> None:
        links = self.forges.links(req.context.db, req.context.user.id) if self.forges else []
        self.pages.render(
            req,
            resp,
            "import_repository.html",
            status=status,
            errors=errors,
            given=given,
            formats=FORMATS,
            linked=[link for link in links if link.token == "active"],
        )


class ImportJobPage:
    def __init__(self, pages: Pages, sources: SourceService):
        self.pages = pages
        self.sources = sources

    @falcon.before(require_page_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, import_id: uuid.UUID) -> None:
        job = self.sources.job(req.context.db, user_id=req.context.user.id, import_id=import_id)
        self.pages.render(
            req,
            resp,
            "import_job.html",
            job=job,
            live=job.status.value in ("pending", "processing"),
        )


class ReimportAction:
    def __init__(self, pages: Pages, sources: SourceService, queue: Queue):
        self.pages = pages
        self.sources = sources
        self.queue = queue

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID) -> None:
        self.pages.form_token.check(req, Form.read(req).get(FIELD))
        view = self.sources.reimport(
            req.context.db,
            user_id=req.context.user.id,
            template_id=template_id,
            request=ReimportRequest(),
        )
        enqueue(req, self.queue, view)
        see_other(resp, f"/templates/imports/{view.id}")


class FollowAction:
    def __init__(self, pages: Pages, sources: SourceService):
        self.pages = pages
        self.sources = sources

    @falcon.before(require_page_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID) -> None:
        form = Form.read(req)
        self.pages.form_token.check(req, form.get(FIELD))
        self.sources.follow(
            req.context.db,
            user_id=req.context.user.id,
            template_id=template_id,
            following=form.get("following") == "true",
        )
        see_other(resp, f"/templates/{template_id}/edit#source")


def install(
    app: falcon.App, pages: Pages, sources: SourceService, queue: Queue, forges: ForgeService | None
) -> None:
    app.add_route("/templates/import", ImportPage(pages, sources, queue, forges))
    app.add_route("/templates/imports/{import_id:uuid}", ImportJobPage(pages, sources))
    app.add_route("/templates/{template_id:uuid}/reimport", ReimportAction(pages, sources, queue))
    app.add_route("/templates/{template_id:uuid}/follow", FollowAction(pages, sources))
