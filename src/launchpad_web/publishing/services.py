"""Publish use cases on an injected session; they flush, never commit.

:meth:`PublishService.submit` checks what a worker would refuse before a publish
job exists: the generation job is the user's and completed with its archive, the
forge is set up here and linked to the user's account, the repository's name (or
``owner/name`` path) is one a forge accepts. The worker
(:mod:`launchpad_worker.publish`) does the rest.
"""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..clock import Clock
from ..errors import (
    NotFoundError,
    ValidationFailedError,
)
from ..forges.services import ForgeLinkView, ForgeService
from ..jobs.models import GenerationJob, JobStatus, log_entry
from ..jobs.services import ArtifactNotReadyError, JobNotFoundError
from .models import PublishJob
from .schemas import PublishJobView, PublishRequest

NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
PATH = re.compile(r"[A-Za-z0-9_.-]{1,100}(/[A-Za-z0-9_.-]{1,100}){1,10}")
DESCRIPTION_CHARACTERS = 350


class PublishJobNotFoundError(NotFoundError):
    code = "publish_job_not_found"
    title = "No such publish job"


class PublishService:
    def __init__(self, *, forges: ForgeService, clock: Clock):
        self.forges = forges
        self.clock = clock

    def submit(self, db: Session, *, user_id: uuid.UUID, job_id: uuid.UUID,
               request: PublishRequest) -> PublishJobView:
        _check(request)
        job = db.scalar(sa.select(GenerationJob).where(
            GenerationJob.id == job_id, GenerationJob.user_id == user_id))
        if job is None:
            raise JobNotFoundError()
        if job.status != JobStatus.COMPLETED or not job.artifact_key:
            raise ArtifactNotReadyError(f"the job is {job.status.value}: only a completed job "
                                        "with its archive can be published")
        self.forges.require_repositories(db, user_id, request.forge)
        now = self.clock()
        where = request.repository or f"a new repository {request.name!r}"
        row = PublishJob(user_id=user_id, job_id=job.id, forge=request.forge, name=request.name,
                         private=request.private, description=request.description,
                         existing=request.repository is not None,
                         repository=request.repository, status=JobStatus.PENDING, attempts=0,
                         created_at=now, updated_at=now,
                         log=[log_entry(now, "queued", f"publishing to {where}; waiting for "
                                        "a worker")])
        db.add(row)
        db.flush()
        return PublishJobView.from_row(row)

    def targets(self, db: Session, *, user_id: uuid.UUID) -> list[ForgeLinkView]:
        """The user's linked forges LaunchPad may still act on (their token is active)."""
        return [link for link in self.forges.links(db, user_id)
                if link.token == "active" and link.forge in self.forges.forges]

    def get(self, db: Session, *, user_id: uuid.UUID, job_id: uuid.UUID,
            publish_id: uuid.UUID) -> PublishJobView:
        row = db.scalar(sa.select(PublishJob).where(
            PublishJob.id == publish_id, PublishJob.job_id == job_id,
            PublishJob.user_id == user_id).execution_options(populate_existing=True))
        if row is None:
            raise PublishJobNotFoundError()
        return PublishJobView.from_row(row)

    def of_job(self, db: Session, *, user_id: uuid.UUID,
               job_id: uuid.UUID) -> list[PublishJobView]:
        """The publish jobs of a generation job of the user's, newest first."""
        if db.scalar(sa.select(GenerationJob.id).where(
                GenerationJob.id == job_id, GenerationJob.user_id == user_id)) is None:
            raise JobNotFoundError()
        rows = db.scalars(sa.select(PublishJob).where(PublishJob.job_id == job_id)
                          .order_by(PublishJob.created_at.desc(), PublishJob.id)
                          .execution_options(populate_existing=True))
        return [PublishJobView.from_row(row) for row in rows]


def _check(request: PublishRequest) -> None:
    if (request.name is None) == (request.repository is None):
        raise ValidationFailedError.one(
            "name_or_repository", "give either the name of a new repository or the "
            "owner/name of an existing empty one", "$.name")
    if request.name is not None and (not NAME.fullmatch(request.name)
                                     or request.name.endswith(".git")
                                     or request.name.strip(".") == ""):
        raise ValidationFailedError.one(
            "invalid_repository_name", "a repository name is 1 to 100 letters, digits, "
            "'.', '-' or '_', not ending in .git", "$.name")
    if request.repository is not None and not PATH.fullmatch(request.repository):
        raise ValidationFailedError.one(
            "invalid_repository", "an existing repository is given as owner/name",
            "$.repository")
    if len(request.description) > DESCRIPTION_CHARACTERS or "\x00" in request.description:
        raise ValidationFailedError.one(
            "invalid_description", f"a description is at most {DESCRIPTION_CHARACTERS} "
            "characters", "$.description")
