"""Request bodies and value objects of the updates domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import attrs

from ..jobs.models import JobStatus
from ..jobs.schemas import LogStep
from .models import UpdateJob


@attrs.frozen
class UpdateRequest:
    """Bring a project to ``version`` of its template (null: the latest) with ``answers``
    for its new questions (or changed ones). A secret answer not given again is treated
    as unchanged: the update fails with ``secret_required`` only when it changes a line
    that uses it."""

    version: int | None = None
    answers: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class UpdateAllRequest:
    """Queue an update of every project of the fleet that you made and that is behind
    ``version`` (null: the latest); recorded answers only (new questions take their
    defaults, secrets are treated as unchanged)."""

    version: int | None = None


@attrs.frozen
class UpdateJobView:
    """An update job. Once completed: ``changed_files``, ``conflicts`` (paths left with
    conflict markers), ``patch`` (where the unified diff downloads: ``git apply`` it in
    the project) and ``conflicts_download`` (the same list with what the merge kept and
    renamed, as JSON); for a project published to a forge repository also ``branch``,
    ``commit_sha`` and ``change_url``, the pull request (GitHub) or merge request (GitLab)
    opened with the change."""

    id: uuid.UUID
    project_id: uuid.UUID
    status: JobStatus
    attempts: int
    from_version: int
    target_version: int
    answers: dict[str, Any]
    changed_files: int | None
    conflicts: list[str] | None
    patch: str | None
    conflicts_download: str | None
    branch: str | None
    commit_sha: str | None
    change_url: str | None
    log: list[LogStep]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row: UpdateJob) -> UpdateJobView:
        base = f"/api/projects/{row.project_id}/updates/{row.id}"
        stored = row.artifact_key is not None
        return cls(id=row.id, project_id=row.project_id, status=row.status,
                   attempts=row.attempts, from_version=row.from_version,
                   target_version=row.target_version, answers=dict(row.answers),
                   changed_files=row.changed_files,
                   conflicts=None if row.conflicts is None else list(row.conflicts),
                   patch=f"{base}/patch" if stored else None,
                   conflicts_download=f"{base}/conflicts" if stored else None,
                   branch=row.branch, commit_sha=row.commit_sha, change_url=row.change_url,
                   log=[LogStep(at=s["at"], step=s["step"], message=s["message"])
                        for s in row.log],
                   error=row.error, created_at=row.created_at, started_at=row.started_at,
                   finished_at=row.finished_at)


@attrs.frozen
class UpdateJobList:
    update_jobs: list[UpdateJobView]
