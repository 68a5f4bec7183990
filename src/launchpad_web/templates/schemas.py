"""Request bodies and value objects of the templates domain (what the API reads and answers).

A template's ``definition`` is the core's JSON form of :class:`launchpad_core.Template`
(see ``launchpad_core.model.schema`` for its JSON Schema); it is checked by the core on
every save. ``version`` counts saves from 1; every version stays readable.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import attrs

from launchpad_core.importers.importing import tasks_skipped_by_service

from ..converter import VersionNumber
from .models import TemplateRecord, TemplateVersion

NAME_MAX = 200


@attrs.frozen
class TemplateRequest:
    """Create a template: a display name, the definition, and a team to share it with."""

    name: str
    definition: Any
    team_id: uuid.UUID | None = None


@attrs.frozen
class TemplateUpdateRequest:
    """Save a new version. ``version`` is the one the change is based on (or send
    ``If-Match``); a stale one answers ``version_conflict``."""

    name: str
    definition: Any
    version: VersionNumber | None = None


@attrs.frozen
class PreviewRequest:
    """Answers (JSON values by variable name) and the version to render (default: latest),
    or a ``definition``: an unsaved draft of the template, checked as a save checks it
    (422 with every problem) and rendered without being saved (the builder's preview)."""

    answers: dict[str, Any] = attrs.field(factory=dict)
    version: VersionNumber | None = None
    definition: Any = None


@attrs.frozen
class FormRequest:
    """The answers so far of a generate form. ``as_text``: values are the text typed
    into the form's fields (``"3"`` for an int, ``"yes"`` for a bool), coerced as the
    command line coerces what is typed; else JSON values, as ``POST /api/generate``."""

    answers: dict[str, Any] = attrs.field(factory=dict)
    version: VersionNumber | None = None
    as_text: bool = False


@attrs.frozen
class FormQuestion:
    """One variable of the form: does it apply now (its ``when``), and its value now
    (the answer given, else its default computed from the other answers; none for a
    secret)."""

    name: str
    applies: bool
    value: Any = None


@attrs.frozen
class FormProblem:
    code: str
    message: str
    field: str


@attrs.frozen
class FormView:
    """A generate form as the server decides it, from the same core code as a job."""

    template_id: uuid.UUID
    version: int
    questions: tuple[FormQuestion, ...]
    problems: tuple[FormProblem, ...]


@attrs.frozen
class TemplateSummary:
    """A template in a list: everything but the definition."""

    id: uuid.UUID
    name: str
    version: int
    owner_id: uuid.UUID
    team_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: TemplateRecord) -> TemplateSummary:
        return cls(
            id=row.id,
            name=row.name,
            version=row.version,
            owner_id=row.owner_id,
            team_id=row.team_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@attrs.frozen
class TemplateView:
    """A template with its latest definition. ``skipped_tasks``: its tasks and hooks (and
    those skipped when it was imported), which the hosted service never runs: it renders
    without them, as ``--skip-tasks`` does."""

    id: uuid.UUID
    name: str
    version: int
    owner_id: uuid.UUID
    team_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    definition: dict[str, Any]
    skipped_tasks: tuple[str, ...] = ()

    @classmethod
    def from_row(cls, row: TemplateRecord) -> TemplateView:
        summary = attrs.asdict(TemplateSummary.from_row(row), recurse=False)
        return cls(definition=row.definition,
                   skipped_tasks=tuple(tasks_skipped_by_service(row.definition)), **summary)

    @property
    def etag(self) -> str:
        return etag_of(self.version)


@attrs.frozen
class TemplatePage:
    """One page of the templates a user can see, by name then id. ``next_cursor`` is
    opaque: pass it back as ``cursor`` for the next page; null on the last one."""

    templates: tuple[TemplateSummary, ...]
    total: int
    limit: int
    next_cursor: str | None


@attrs.frozen
class TemplateVersionSummary:
    number: int
    created_by: uuid.UUID | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: TemplateVersion) -> TemplateVersionSummary:
        return cls(number=row.number, created_by=row.created_by, created_at=row.created_at)


@attrs.frozen
class FileDiff:
    """One file's change between two versions: ``added``, ``removed`` or ``modified``;
    ``diff`` is a unified diff (null for a binary file), cut at 200,000 characters
    (``truncated``)."""

    path: str
    change: str
    binary: bool
    diff: str | None
    truncated: bool


@attrs.frozen
class VersionDiffView:
    """What changed from version ``from_version`` to ``to_version`` (files that differ only)."""

    template_id: uuid.UUID
    from_version: int
    to_version: int
    files: tuple[FileDiff, ...]


@attrs.frozen
class ImportedTemplateView:
    """A template directory's definition, imported from a zip and not stored: save it
    with ``POST /api/templates`` or ``PUT /api/templates/{id}``. ``skipped_tasks`` are
    the tasks and hooks it had (the service never runs them); ``warnings`` what the
    importer left out or changed."""

    format: str | None
    definition: dict[str, Any]
    skipped_tasks: tuple[str, ...]
    warnings: tuple[str, ...]


@attrs.frozen
class TemplateVersionList:
    versions: tuple[TemplateVersionSummary, ...]


@attrs.frozen
class TemplateVersionView:
    template_id: uuid.UUID
    number: int
    created_by: uuid.UUID | None
    created_at: datetime
    definition: dict[str, Any]

    @classmethod
    def from_row(cls, row: TemplateVersion) -> TemplateVersionView:
        return cls(
            template_id=row.template_id,
            number=row.number,
            created_by=row.created_by,
            created_at=row.created_at,
            definition=row.definition,
        )


@attrs.frozen
class PreviewFile:
    """One rendered file. ``encoding`` is ``utf-8`` (``content`` is the text) or
    ``base64`` (binary ``content``); ``mode`` is null for the default permissions.
    ``kind`` is ``directory`` for an empty folder the project will hold (no
    content, no ``sha256``)."""

    path: str
    content: str
    encoding: str
    size: int
    sha256: str | None
    mode: int | None
    kind: str = "file"


@attrs.frozen
class PreviewSkipped:
    """A file of the template the preview left out: ``path`` as the template spells it,
    ``reason`` ``when`` (its condition is false), ``empty_path`` (a part of its path
    rendered empty) or ``excluded`` (the template's ``exclude`` matches it)."""

    path: str
    reason: str


@attrs.frozen
class PreviewView:
    template_id: uuid.UUID
    version: int
    files: tuple[PreviewFile, ...]
    total_bytes: int
    skipped: tuple[PreviewSkipped, ...] = ()


def etag_of(version: int) -> str:
    return f'"v{version}"'
