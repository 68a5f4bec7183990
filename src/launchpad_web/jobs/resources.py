"""HTTP nouns of the jobs domain: submit a generation, follow it, download it, events.

The job row is committed before its task is enqueued, so a worker never looks
for a job that is not there yet; if enqueueing fails the job stays pending and
the sweeper enqueues it. The progress stream (``/events``) is bounded: it ends
after ``LAUNCHPAD_EVENT_STREAM_SECONDS`` (with a ``retry`` hint) or once the job
is finished, and resumes after ``Last-Event-ID`` (the number of log steps seen).
Between the steps, ``progress`` events (no id) tell how far the render is, as
the worker stores it (at most every ``LAUNCHPAD_JOB_PROGRESS_MS``), and where it
ended before ``completed``.
Before it starts it takes a slot (:mod:`~launchpad_web.jobs.slots`: so many per
process and per user, else 429 ``too_many_streams``), given back when it ends.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import BinaryIO

import falcon
from sqlalchemy.orm import sessionmaker

from ..accounts.auth import current_user, require_user
from ..converter import unstructure
from ..db import end_transaction
from ..errors import ValidationFailedError
from ..openapi import EventStream, Route, operation
from ..request_bodies import read_json
from .archives import FORMATS, MEDIA_TYPES
from .queue import Queue
from .schemas import EventList, GenerateRequest, JobProgress, JobView, StepEvent
from .services import IDEMPOTENCY_HEADER, ArtifactNotReadyError, JobService, idempotency_key
from .settings import JobSettings
from .slots import StreamSlots
from .storage import ArtifactStorage, stream_length, with_derived

log = logging.getLogger("launchpad_web.jobs")

POLL_SECONDS = 0.25
RETRY_MILLISECONDS = 1000
STEP_EVENTS = ("queued", "started", "retrying", "completed", "failed")
STREAM_DESCRIPTION = (
    "Bounded in time (`LAUNCHPAD_EVENT_STREAM_SECONDS`, then a `retry` hint) and in number "
    "of streams; ends once the job has finished. Each log step is an event named after "
    "it, its `id` the step's number (send `Last-Event-ID` to resume after it), its data "
    "the step and the job's status. While the job renders, `progress` events (no `id`) "
    "tell how far it is: files done of the template's total, the template path last "
    "done, bytes so far; stored by the worker at most every `LAUNCHPAD_JOB_PROGRESS_MS`, "
    "and once more, complete, before `completed`.")


class GenerateResource:
    def __init__(self, jobs: JobService, queue: Queue):
        self.jobs = jobs
        self.queue = queue

    @operation("Queue the generation of a project from a template. With an "
               "`Idempotency-Key` header, sending the same request again under that key "
               "answers the job it made (with `Idempotent-Replayed: true`) instead of a "
               "second one; another request under the key is refused (422).",
               request=GenerateRequest, responses={202: JobView},
               problems=(402, 403, 404, 422, 429, 503), auth=True)
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        key = idempotency_key(req.get_header(IDEMPOTENCY_HEADER))
        job = start_job(req, self.jobs, self.queue, read_json(req, GenerateRequest), key)
        if req.context.get("replayed"):
            resp.set_header("Idempotent-Replayed", "true")
        resp.status = falcon.HTTP_202
        resp.location = f"/api/generate/{job.id}"
        resp.media = unstructure(job)


def start_job(req: falcon.Request, jobs: JobService, queue: Queue,
              request: GenerateRequest, key: str | None = None) -> JobView:
    """Submit, commit, then enqueue (the API and the generate page both start jobs so);
    a submission replayed under its idempotency key is not enqueued again."""
    user_id = current_user(req).id
    submitted = jobs.submit(req.context.db, user_id=user_id, request=request, key=key)
    req.context.db.commit()
    if submitted.replayed:
        req.context.replayed = True
        return submitted.job
    try:
        queue.enqueue(submitted.job.id, submitted.secret_answers)
    except Exception:
        log.exception("enqueue failed; the sweeper will retry",
                      extra={"job_id": str(submitted.job.id)})
    return jobs.get(req.context.db, user_id=user_id, job_id=submitted.job.id)


class JobResource:
    def __init__(self, jobs: JobService):
        self.jobs = jobs

    @operation("A generation job: status, attempts, log, artifact", responses={200: JobView},
               problems=(404,), auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: uuid.UUID) -> None:
        resp.media = unstructure(self.jobs.get(req.context.db, user_id=current_user(req).id,
                                               job_id=job_id))


class ArtifactResource:
    def __init__(self, jobs: JobService, storage: ArtifactStorage):
        self.jobs = jobs
        self.storage = storage

    @operation("Download the generated project (?format=zip or tar.gz; a job stored "
               "before tar.gz archives were kept: 409 format_unavailable)",
               responses={200: None, 302: None}, problems=(404, 409, 422), auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response,
                        job_id: uuid.UUID) -> None:
        fmt = req.get_param("format") or FORMATS[0]
        if fmt not in FORMATS:
            raise ValidationFailedError.one("invalid_value", "format must be zip or tar.gz",
                                            "format")
        key, name = self.jobs.artifact(req.context.db, user_id=current_user(req).id,
                                       job_id=job_id, fmt=fmt)
        # Making a tar.gz of a large project takes seconds: no transaction (on SQLite,
        # the write lock every other request waits for) is held across it.
        end_transaction(req.context.db)
        try:  # a format is made from the zip when it is first asked for
            url, stream = with_derived(self.storage, key, fmt,
                                       lambda: self._located(key, fmt, name))
        except FileNotFoundError:
            raise ArtifactNotReadyError("the archive was deleted") from None
        if stream is None:  # a presigned URL of the bucket: short-lived, never cached
            resp.status = falcon.HTTP_302
            resp.location = url
            resp.cache_control = ["no-store"]
            return
        resp.content_type = MEDIA_TYPES[fmt]
        resp.downloadable_as = f"{name}.{fmt}"
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_stream(stream, stream_length(stream))  # streamed as stored

    def _located(self, key: str, fmt: str, name: str) -> tuple[str | None, BinaryIO | None]:
        """A presigned URL of the archive, or else the archive opened to stream."""
        url = self.storage.download_url(key, fmt, f"{name}.{fmt}")
        return url, None if url else self.storage.open(key, fmt)


class ProgressResource:
    def __init__(self, jobs: JobService, session_factory: sessionmaker, settings: JobSettings,
                 slots: StreamSlots, sleep: Callable[[float], None] = time.sleep):
        self.jobs = jobs
        self.session_factory = session_factory
        self.stream_seconds = settings.event_stream.total_seconds()
        self.slots = slots
        self.sleep = sleep

    @operation("Live progress of a job as server-sent events",
               description=STREAM_DESCRIPTION, responses={200: EventStream({
                   **{step: StepEvent for step in STEP_EVENTS}, "progress": JobProgress})},
               problems=(404, 429), auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response,
                      job_id: uuid.UUID) -> None:
        user_id = current_user(req).id
        self.jobs.get(req.context.db, user_id=user_id, job_id=job_id)  # 404 for others
        seen = _last_event_id(req.get_header("Last-Event-ID"))
        slot = self.slots.take(user_id)
        resp.content_type = "text/event-stream"
        resp.set_header("Cache-Control", "no-cache")
        resp.set_header("X-Accel-Buffering", "no")
        resp.stream = self.slots.held(slot, self._stream(user_id, job_id, seen))

    def _stream(self, user_id: uuid.UUID, job_id: uuid.UUID, seen: int) -> Iterator[bytes]:
        deadline = time.monotonic() + self.stream_seconds
        shown = None
        while True:
            job = self._job(user_id, job_id)
            if job.progress is not None and job.progress != shown:
                shown = job.progress  # no id: resuming goes by the log steps alone
                yield f"event: progress\ndata: {json.dumps(unstructure(shown))}\n\n".encode()
            for number, step in enumerate(job.log[seen:], start=seen + 1):
                data = json.dumps({**unstructure(step), "status": job.status.value})
                yield f"id: {number}\nevent: {step.step}\ndata: {data}\n\n".encode()
            seen = max(seen, len(job.log))
            if job.terminal:
                return
            if time.monotonic() >= deadline:
                yield f"retry: {RETRY_MILLISECONDS}\n\n".encode()
                return
            self.sleep(POLL_SECONDS)

    def _job(self, user_id: uuid.UUID, job_id: uuid.UUID) -> JobView:
        db = self.session_factory()
        try:
            return self.jobs.get(db, user_id=user_id, job_id=job_id)
        finally:
            db.close()


def _last_event_id(raw: str | None) -> int:
    try:
        return max(int(raw or 0), 0)
    except ValueError:
        return 0


class EventsResource:
    def __init__(self, jobs: JobService):
        self.jobs = jobs

    @operation("Your latest notifications (jobs completed or failed)",
               responses={200: EventList}, auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        events = self.jobs.events(req.context.db, user_id=current_user(req).id)
        resp.media = unstructure(EventList(events))


def routes(*, jobs: JobService, queue: Queue, storage: ArtifactStorage,
           session_factory: sessionmaker, settings: JobSettings,
           slots: StreamSlots) -> list[Route]:
    return [
        Route("/api/generate", GenerateResource(jobs, queue)),
        Route("/api/generate/{job_id:uuid}", JobResource(jobs)),
        Route("/api/generate/{job_id:uuid}/download", ArtifactResource(jobs, storage)),
        Route("/api/generate/{job_id:uuid}/events",
              ProgressResource(jobs, session_factory, settings, slots)),
        Route("/api/events", EventsResource(jobs)),
    ]
