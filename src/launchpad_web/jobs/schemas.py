"""Request bodies and value objects of the jobs domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import attrs

from ..converter import VersionNumber
from .models import Event, EventKind, GenerationJob, JobStatus
from .storage import artifact_formats


@attrs.frozen
class GenerateRequest:
    template_id: uuid.UUID
    answers: dict[str, Any] = attrs.field(factory=dict)
    version: VersionNumber | None = None


@attrs.frozen
class LogStep:
    """One step of a job's progress: ``queued``, ``started``, ``retrying``, ``completed``
    (with the number of files) or ``failed``, with a message in plain words."""

    at: str
    step: str
    message: str
    files: int | None = None


@attrs.frozen
class StepEvent:
    """The data of a log step's event in a job's progress stream: the step and the job's
    status then."""

    at: str
    step: str
    message: str
    status: JobStatus
    files: int | None = None


@attrs.frozen
class JobProgress:
    """How far the render is: ``files`` of the template's ``total`` files done, ``path`` (as
    the template names it) the last one done (null once finished), ``bytes`` of output so
    far. Reported while rendering at most every ``LAUNCHPAD_JOB_PROGRESS_MS``; a render
    quicker than that shows only its end."""

    files: int
    total: int
    path: str | None
    bytes: int

    @classmethod
    def from_stored(cls, stored: dict[str, Any] | None) -> JobProgress | None:
        if stored is None:
            return None
        return cls(files=stored["files"], total=stored["total"], path=stored["path"],
                   bytes=stored["bytes"])


@attrs.frozen
class ArtifactView:
    """The archive to download: ``size`` and ``sha256`` are the zip's; ``formats`` those
    it can be downloaded in (a job stored before tar.gz archives were kept: zip only)."""

    size: int
    sha256: str
    formats: tuple[str, ...]
    download: str


@attrs.frozen
class JobView:
    """A job as the API shows it; ``answers`` has secret answers redacted."""

    id: uuid.UUID
    template_id: uuid.UUID | None
    template_version: int | None
    status: JobStatus
    attempts: int
    answers: dict[str, Any]
    log: list[LogStep]
    progress: JobProgress | None
    files: int | None
    error: str | None
    artifact: ArtifactView | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def terminal(self) -> bool:
        return self.status in (JobStatus.COMPLETED, JobStatus.FAILED)

    @classmethod
    def from_row(cls, row: GenerationJob) -> JobView:
        log = [LogStep(at=s["at"], step=s["step"], message=s["message"], files=s.get("files"))
               for s in row.log]
        files = next((s.files for s in reversed(log) if s.files is not None), None)
        artifact = None
        if row.status == JobStatus.COMPLETED and row.artifact_key:
            artifact = ArtifactView(size=row.artifact_size or 0,
                                    sha256=row.artifact_sha256 or "",
                                    formats=artifact_formats(row.artifact_key),
                                    download=f"/api/generate/{row.id}/download")
        return cls(id=row.id, template_id=row.template_id,
                   template_version=row.template_version, status=row.status,
                   attempts=row.attempts, answers=dict(row.answers), log=log,
                   progress=JobProgress.from_stored(row.progress), files=files,
                   error=row.error, artifact=artifact, created_at=row.created_at,
                   started_at=row.started_at, finished_at=row.finished_at)


@attrs.frozen
class EventView:
    id: uuid.UUID
    kind: EventKind
    job_id: uuid.UUID | None
    message: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: Event) -> EventView:
        return cls(id=row.id, kind=row.kind, job_id=row.job_id, message=row.message,
                   created_at=row.created_at)


@attrs.frozen
class EventList:
    events: list[EventView]
