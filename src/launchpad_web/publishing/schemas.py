"""Request bodies and value objects of the publishing domain."""

from __future__ import annotations

import uuid
from datetime import datetime

import attrs

from ..jobs.models import JobStatus
from ..jobs.schemas import LogStep
from .models import PublishJob


@attrs.frozen
class PublishRequest:
    """A new repository (``name``, ``private``, ``description``) or an existing empty
    one (``repository``: ``owner/name``) on the linked ``forge``."""

    forge: str
    name: str | None = None
    private: bool = True
    description: str = ""
    repository: str | None = None


@attrs.frozen
class PublishJobView:
    """A publish job as the API shows it; ``destination_url`` and ``commit_sha`` once the
    files are pushed."""

    id: uuid.UUID
    job_id: uuid.UUID
    forge: str
    status: JobStatus
    attempts: int
    name: str | None
    private: bool
    repository: str | None
    destination_url: str | None
    commit_sha: str | None
    log: list[LogStep]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def terminal(self) -> bool:
        return self.status in (JobStatus.COMPLETED, JobStatus.FAILED)

    @classmethod
    def from_row(cls, row: PublishJob) -> PublishJobView:
        return cls(id=row.id, job_id=row.job_id, forge=row.forge, status=row.status,
                   attempts=row.attempts, name=row.name, private=row.private,
                   repository=row.repository, destination_url=row.destination_url,
                   commit_sha=row.commit_sha,
                   log=[LogStep(at=s["at"], step=s["step"], message=s["message"])
                        for s in row.log],
                   error=row.error, created_at=row.created_at, started_at=row.started_at,
                   finished_at=row.finished_at)


@attrs.frozen
class PublishJobList:
    publish_jobs: list[PublishJobView]
