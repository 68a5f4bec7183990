"""HTTP nouns of the publishing domain: publish a completed generation job to a
repository, follow the publish job.

As with generation jobs, the row is committed before its task is enqueued; if
enqueueing fails the job stays pending and the sweeper enqueues it.
"""

from __future__ import annotations

import logging
import uuid

import falcon

from ..accounts.auth import current_user, require_user
from ..converter import unstructure
from ..jobs.queue import Queue
from ..openapi import Route, operation
from ..request_bodies import read_json
from .schemas import PublishJobList, PublishJobView, PublishRequest
from .services import PublishService

log = logging.getLogger("launchpad_web.publishing")


def start_publish(req: falcon.Request, publishing: PublishService, queue: Queue,
                  job_id: uuid.UUID, request: PublishRequest) -> PublishJobView:
    """Submit, commit, then enqueue (the API and the job page both publish so)."""
    user_id = current_user(req).id
    submitted = publishing.submit(req.context.db, user_id=user_id, job_id=job_id,
                                  request=request)
    req.context.db.commit()
    try:
        queue.enqueue_publish(submitted.id)
    except Exception:
        log.exception("enqueue failed; the sweeper will retry",
                      extra={"publish_id": str(submitted.id)})
    return publishing.get(req.context.db, user_id=user_id, job_id=job_id,
                          publish_id=submitted.id)


class PublishesResource:
    def __init__(self, publishing: PublishService, queue: Queue):
        self.publishing = publishing
        self.queue = queue

    @operation("Publish a completed job's files as one commit to a new repository (name, "
               "private, description) or an existing empty one (repository: owner/name) "
               "on a linked forge", request=PublishRequest, responses={202: PublishJobView},
               problems=(404, 409, 422), auth=True)
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, job_id: uuid.UUID) -> None:
        published = start_publish(req, self.publishing, self.queue, job_id,
                                  read_json(req, PublishRequest))
        resp.status = falcon.HTTP_202
        resp.location = f"/api/generate/{job_id}/publish/{published.id}"
        resp.media = unstructure(published)

    @operation("The job's publish jobs, newest first", responses={200: PublishJobList},
               problems=(404,), auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: uuid.UUID) -> None:
        found = self.publishing.of_job(req.context.db, user_id=current_user(req).id,
                                       job_id=job_id)
        resp.media = unstructure(PublishJobList(found))


class PublishResource:
    def __init__(self, publishing: PublishService):
        self.publishing = publishing

    @operation("A publish job: status, attempts, log, destination", problems=(404,),
               responses={200: PublishJobView}, auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: uuid.UUID,
               publish_id: uuid.UUID) -> None:
        resp.media = unstructure(self.publishing.get(
            req.context.db, user_id=current_user(req).id, job_id=job_id,
            publish_id=publish_id))


def routes(*, publishing: PublishService, queue: Queue) -> list[Route]:
    return [
        Route("/api/generate/{job_id:uuid}/publish", PublishesResource(publishing, queue)),
        Route("/api/generate/{job_id:uuid}/publish/{publish_id:uuid}",
              PublishResource(publishing)),
    ]
