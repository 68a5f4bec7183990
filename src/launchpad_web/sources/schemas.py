"""Request bodies and value objects of the sources domain."""

from __future__ import annotations

import uuid
from datetime import datetime

import attrs

from ..jobs.models import JobStatus
from ..jobs.schemas import LogStep
from .models import ImportJob, TemplateSource


@attrs.frozen
class RepositoryImportRequest:
    """A new template from the repository ``source`` (``https://...``, ``gh:owner/name``,
    ``gl:group/name``) at ``ref`` (a branch, tag or full commit id; default: the newest
    release tag, else the default branch), in ``format`` (``copier``, ``cookiecutter``,
    ``launchpad``; default: detected). ``forge``: read it through your linked account on
    that forge (private repositories); ``name`` (default: the repository's) and
    ``team_id`` as for ``POST /api/templates``."""

    source: str
    ref: str | None = None
    format: str | None = None
    forge: str | None = None
    name: str | None = None
    team_id: uuid.UUID | None = None


@attrs.frozen
class ReimportRequest:
    """Import the template's repository again, at ``ref`` (default: the ref it was imported
    at, else the newest release tag); the same commit makes no new version."""

    ref: str | None = None


@attrs.frozen
class FollowRequest:
    """``following``: every new release tag of the repository becomes a new version."""

    following: bool


@attrs.frozen
class ImportJobView:
    """An import from a repository as the API shows it. Once ``completed``:
    ``template_id``, the ``commit`` (and ``tag``) read and the ``version`` it made, or
    ``unchanged`` (no new version: the template is at that commit already)."""

    id: uuid.UUID
    status: JobStatus
    trigger: str
    source: str
    ref: str | None
    format: str | None
    forge: str | None
    template_id: uuid.UUID | None
    commit: str | None
    tag: str | None
    version: int | None
    unchanged: bool
    attempts: int
    log: list[LogStep]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row: ImportJob) -> ImportJobView:
        return cls(
            id=row.id,
            status=row.status,
            trigger=row.trigger,
            source=row.spec,
            ref=row.ref,
            format=row.format,
            forge=row.forge,
            template_id=row.result_template_id or row.template_id,
            commit=row.commit,
            tag=row.tag,
            version=row.version,
            unchanged=row.unchanged,
            attempts=row.attempts,
            log=[LogStep(at=s["at"], step=s["step"], message=s["message"]) for s in row.log],
            error=row.error,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )


@attrs.frozen
class WebhookView:
    """Where the forge ``forge`` sends tag events for this template, and the secret it
    signs them with (shown to those who may change the template)."""

    forge: str
    url: str
    secret: str | None


@attrs.frozen
class TemplateSourceView:
    """The repository a template was imported from, and whether it follows it."""

    template_id: uuid.UUID
    source: str
    url: str
    forge: str | None
    repository: str | None
    ref: str | None
    format: str | None
    commit: str
    tag: str | None
    following: bool
    checked_at: datetime | None
    webhooks: list[WebhookView]
    #: Why the last polls failed (``poll_failures`` in a row), and when the next may come.
    poll_error: str | None = None
    poll_failures: int = 0
    poll_after: datetime | None = None

    @classmethod
    def from_row(cls, row: TemplateSource, webhooks: list[WebhookView]) -> TemplateSourceView:
        return cls(
            template_id=row.template_id,
            source=row.spec,
            url=row.url,
            forge=row.forge,
            repository=row.repository,
            ref=row.ref,
            format=row.format,
            commit=row.commit,
            tag=row.tag,
            following=row.following,
            checked_at=row.checked_at,
            webhooks=webhooks,
            poll_error=row.poll_error,
            poll_failures=row.poll_failures or 0,
            poll_after=row.poll_after,
        )


@attrs.frozen
class WebhookOutcome:
    """What a verified delivery did: ``queued`` an import (``import_id``), or nothing
    (``reason``: not a release tag, already queued for that tag ...)."""

    queued: bool
    import_id: uuid.UUID | None = None
    reason: str | None = None
