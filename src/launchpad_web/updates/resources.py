"""HTTP nouns of the updates domain: update a project, follow its update jobs, download
an update's patch and conflicts, update a whole fleet.

As with generation jobs, rows are committed before their tasks are enqueued; if
enqueueing fails the job stays pending and the sweeper enqueues it.
"""

from __future__ import annotations

import logging
import uuid

import falcon

from ..accounts.auth import current_user, require_user
from ..converter import unstructure
from ..jobs.archives import MEDIA_TYPES
from ..jobs.queue import Queue
from ..jobs.services import ArtifactNotReadyError
from ..jobs.storage import ArtifactStorage, stream_length
from ..openapi import Route, operation
from ..request_bodies import read_json
from .schemas import UpdateAllRequest, UpdateJobList, UpdateJobView, UpdateRequest
from .services import UpdateService

log = logging.getLogger("launchpad_web.updates")


def start_update(req: falcon.Request, updates: UpdateService, queue: Queue,
                 project_id: uuid.UUID, request: UpdateRequest) -> UpdateJobView:
    """Submit, commit, then enqueue (the API and the project page both update so)."""
    user_id = current_user(req).id
    submitted = updates.submit(req.context.db, user_id=user_id, project_id=project_id,
                               request=request)
    req.context.db.commit()
    _enqueue(queue, submitted.view.id, submitted.secrets)
    return updates.get(req.context.db, user_id=user_id, project_id=project_id,
                       update_id=submitted.view.id)


def start_update_all(req: falcon.Request, updates: UpdateService, queue: Queue,
                     template_id: uuid.UUID, request: UpdateAllRequest) -> list[UpdateJobView]:
    queued = updates.submit_all(req.context.db, user_id=current_user(req).id,
                                template_id=template_id, request=request)
    req.context.db.commit()
    for view in queued:
        _enqueue(queue, view.id, {})
    return queued


def _enqueue(queue: Queue, update_id: uuid.UUID, secrets: dict) -> None:
    try:
        queue.enqueue_update(update_id, secrets)
    except Exception:
        log.exception("enqueue failed; the sweeper will retry",
                      extra={"update_id": str(update_id)})


class UpdatesResource:
    def __init__(self, updates: UpdateService, queue: Queue):
        self.updates = updates
        self.queue = queue

    @operation("Update a project you made to a newer version of its template (version: "
               "null for the latest; answers for its new questions). A job: it makes a "
               "patch and the list of conflicts, or for a project published to a forge "
               "repository a pull (merge) request", request=UpdateRequest,
               responses={202: UpdateJobView}, problems=(403, 404, 409, 422, 429), auth=True)
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response,
                project_id: uuid.UUID) -> None:
        started = start_update(req, self.updates, self.queue, project_id,
                               read_json(req, UpdateRequest))
        resp.status = falcon.HTTP_202
        resp.location = f"/api/projects/{project_id}/updates/{started.id}"
        resp.media = unstructure(started)


class UpdateListResource:
    def __init__(self, updates: UpdateService):
        self.updates = updates

    @operation("Your update jobs of the project, newest first",
               responses={200: UpdateJobList}, problems=(404,), auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response,
               project_id: uuid.UUID) -> None:
        found = self.updates.of_project(req.context.db, user_id=current_user(req).id,
                                        project_id=project_id)
        resp.media = unstructure(UpdateJobList(found))


class UpdateResource:
    def __init__(self, updates: UpdateService):
        self.updates = updates

    @operation("An update job: status, attempts, log, conflicts, patch, pull request",
               responses={200: UpdateJobView}, problems=(404,), auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: uuid.UUID,
               update_id: uuid.UUID) -> None:
        resp.media = unstructure(self.updates.get(
            req.context.db, user_id=current_user(req).id, project_id=project_id,
            update_id=update_id))


class _UpdateFile:
    """One stored file of a completed update job (``fmt``), the maker's only."""

    fmt = "patch"

    def __init__(self, updates: UpdateService, storage: ArtifactStorage):
        self.updates = updates
        self.storage = storage

    def send(self, req: falcon.Request, resp: falcon.Response, project_id: uuid.UUID,
             update_id: uuid.UUID) -> None:
        row = self.updates.row(req.context.db, current_user(req).id, project_id, update_id)
        if row.artifact_key is None:
            raise ArtifactNotReadyError(f"the update job is {row.status.value}: its files "
                                        "exist once it is completed")
        try:
            stream = self.storage.open(row.artifact_key, self.fmt)
        except FileNotFoundError:
            raise ArtifactNotReadyError("the update's files were deleted") from None
        name = f"update-{row.from_version}-to-{row.target_version}"
        resp.content_type = MEDIA_TYPES[self.fmt]
        resp.downloadable_as = f"{name}.{self.fmt}"
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_stream(stream, stream_length(stream))


class UpdatePatchResource(_UpdateFile):
    fmt = "patch"

    @operation("Download a completed update's patch: a unified diff with binary files and "
               "modes (`git apply` it in the project); empty when nothing changes",
               responses={200: None}, problems=(404, 409), auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: uuid.UUID,
               update_id: uuid.UUID) -> None:
        self.send(req, resp, project_id, update_id)


class UpdateConflictsResource(_UpdateFile):
    fmt = "conflicts.json"

    @operation("Download a completed update's conflicts as JSON: from_version, "
               "target_version, changed, conflicts (paths left with conflict markers), kept "
               "(removed by the template but edited), renamed ([old, new] pairs)",
               responses={200: None}, problems=(404, 409), auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: uuid.UUID,
               update_id: uuid.UUID) -> None:
        self.send(req, resp, project_id, update_id)


class FleetUpdateResource:
    def __init__(self, updates: UpdateService, queue: Queue):
        self.updates = updates
        self.queue = queue

    @operation("Update all: one update job for each project of the fleet that you made and "
               "that is behind the version (null: the latest), all or none within your "
               "plan's jobs in flight (402 quota_exceeded, 429 too_many_jobs)",
               request=UpdateAllRequest, responses={202: UpdateJobList},
               problems=(402, 404, 422, 429), auth=True)
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response,
                template_id: uuid.UUID) -> None:
        queued = start_update_all(req, self.updates, self.queue, template_id,
                                  read_json(req, UpdateAllRequest))
        resp.status = falcon.HTTP_202
        resp.media = unstructure(UpdateJobList(queued))


def routes(*, updates: UpdateService, queue: Queue, storage: ArtifactStorage) -> list[Route]:
    item = "/api/projects/{project_id:uuid}/updates/{update_id:uuid}"
    return [
        Route("/api/projects/{project_id:uuid}/update", UpdatesResource(updates, queue)),
        Route("/api/projects/{project_id:uuid}/updates", UpdateListResource(updates)),
        Route(item, UpdateResource(updates)),
        Route(f"{item}/patch", UpdatePatchResource(updates, storage)),
        Route(f"{item}/conflicts", UpdateConflictsResource(updates, storage)),
        Route("/api/templates/{template_id:uuid}/fleet/update",
              FleetUpdateResource(updates, queue)),
    ]
