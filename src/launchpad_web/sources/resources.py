"""HTTP nouns of the sources domain: import a template from a repository, follow the
import job, the template's source, re-import, follow, and the forges' webhooks.

As with generation jobs, an import job's row is committed before its task is
enqueued; if enqueueing fails the job stays pending and the sweeper enqueues it.
"""

from __future__ import annotations

import logging
import uuid

import falcon

from ..accounts.auth import current_user, require_user
from ..converter import unstructure
from ..errors import PayloadTooLargeError
from ..jobs.queue import Queue
from ..openapi import Route, operation
from ..request_bodies import read_json
from .schemas import (
    FollowRequest,
    ImportJobView,
    ReimportRequest,
    RepositoryImportRequest,
    TemplateSourceView,
    WebhookOutcome,
)
from .services import SourceService

log = logging.getLogger("launchpad_web.sources")


def enqueue(req: falcon.Request, queue: Queue, view: ImportJobView) -> None:
    """Commit the job, then queue it (the API and the pages both import so)."""
    req.context.db.commit()
    try:
        queue.enqueue_import(view.id)
    except Exception:
        log.exception("enqueue failed; the sweeper will retry", extra={"import_id": str(view.id)})


def answer_job(
    req: falcon.Request,
    resp: falcon.Response,
    sources: SourceService,
    queue: Queue,
    view: ImportJobView,
) -> None:
    enqueue(req, queue, view)
    resp.status = falcon.HTTP_202
    resp.location = f"/api/templates/imports/{view.id}"
    resp.media = unstructure(
        sources.job(req.context.db, user_id=current_user(req).id, import_id=view.id)
    )


class RepositoryImportsResource:
    def __init__(self, sources: SourceService, queue: Queue):
        self.sources = sources
        self.queue = queue

    @operation(
        "Create a template from a repository (https://..., gh:owner/name, "
        "gl:group/name) at a branch, tag or commit, public or through your linked "
        "forge account; a queued import job",
        request=RepositoryImportRequest,
        responses={202: ImportJobView},
        problems=(402, 404, 409, 422),
        auth=True,
    )
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        view = self.sources.submit(
            req.context.db,
            user_id=current_user(req).id,
            request=read_json(req, RepositoryImportRequest),
        )
        answer_job(req, resp, self.sources, self.queue, view)


class ImportJobResource:
    def __init__(self, sources: SourceService):
        self.sources = sources

    @operation(
        "An import job: status, log, the template and version it made",
        responses={200: ImportJobView},
        problems=(404,),
        auth=True,
    )
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, import_id: uuid.UUID) -> None:
        resp.media = unstructure(
            self.sources.job(req.context.db, user_id=current_user(req).id, import_id=import_id)
        )


class SourceResource:
    def __init__(self, sources: SourceService):
        self.sources = sources

    @operation(
        "The repository the template was imported from, and its webhooks when it follows it",
        responses={200: TemplateSourceView},
        problems=(404,),
        auth=True,
    )
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID) -> None:
        resp.media = unstructure(
            self.sources.source(
                req.context.db, user_id=current_user(req).id, template_id=template_id
            )
        )


class ReimportResource:
    def __init__(self, sources: SourceService, queue: Queue):
        self.sources = sources
        self.queue = queue

    @operation(
        "Import the template's repository again as a new version (none when the "
        "commit is unchanged); a queued import job",
        request=ReimportRequest,
        responses={202: ImportJobView},
        problems=(403, 404, 422),
        auth=True,
    )
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID) -> None:
        view = self.sources.reimport(
            req.context.db,
            user_id=current_user(req).id,
            template_id=template_id,
            request=read_json(req, ReimportRequest),
        )
        answer_job(req, resp, self.sources, self.queue, view)


class FollowResource:
    def __init__(self, sources: SourceService):
        self.sources = sources

    @operation(
        "Follow the template's repository (each new release tag becomes a version, "
        "by webhook or poll), or stop",
        request=FollowRequest,
        responses={200: TemplateSourceView},
        problems=(403, 404, 422),
        auth=True,
    )
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID) -> None:
        body = read_json(req, FollowRequest)
        resp.media = unstructure(
            self.sources.follow(
                req.context.db,
                user_id=current_user(req).id,
                template_id=template_id,
                following=body.following,
            )
        )


class ForgeWebhookResource:
    """Signed by the forge with the template's secret, not by a user: no session, no CSRF."""

    def __init__(self, sources: SourceService, queue: Queue):
        self.sources = sources
        self.queue = queue

    @operation(
        "A forge's tag events for a template that follows its repository (GitHub: "
        "X-Hub-Signature-256; GitLab: X-Gitlab-Token)",
        responses={200: WebhookOutcome, 202: WebhookOutcome},
        problems=(400, 404, 413),
    )
    def on_post(
        self, req: falcon.Request, resp: falcon.Response, forge: str, template_id: uuid.UUID
    ) -> None:
        limit = req.context.max_body_bytes
        body = req.bounded_stream.read(limit + 1)
        if len(body) > limit:
            raise PayloadTooLargeError(f"at most {limit} bytes are accepted")
        headers = {name.lower(): value for name, value in req.headers.items()}
        outcome = self.sources.webhook(
            req.context.db, forge_name=forge, template_id=template_id, headers=headers, body=body
        )
        if outcome.import_id is not None:
            req.context.db.commit()
            try:
                self.queue.enqueue_import(outcome.import_id)
            except Exception:
                log.exception(
                    "enqueue failed; the sweeper will retry",
                    extra={"import_id": str(outcome.import_id)},
                )
            resp.status = falcon.HTTP_202
        resp.media = unstructure(outcome)


def routes(*, sources: SourceService, queue: Queue) -> list[Route]:
    template = "/api/templates/{template_id:uuid}"
    return [
        Route("/api/templates/imports", RepositoryImportsResource(sources, queue)),
        Route("/api/templates/imports/{import_id:uuid}", ImportJobResource(sources)),
        Route(f"{template}/source", SourceResource(sources)),
        Route(f"{template}/reimport", ReimportResource(sources, queue)),
        Route(f"{template}/follow", FollowResource(sources)),
        Route(
            "/api/webhooks/{forge}/templates/{template_id:uuid}",
            ForgeWebhookResource(sources, queue),
        ),
    ]
