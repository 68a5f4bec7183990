"""Value objects of the projects domain (what the API answers)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import attrs

WOULD_CONFLICT = (
    "Whether updating this project to the latest version would conflict: the three-way "
    "merge of the update, computed by a worker in the background (never in the request) "
    "and kept per project and version; null while it is unknown (not computed yet, or it "
    "could not be: the forge repository is gone, say); false for an up-to-date project."
)


@attrs.frozen
class Maker:
    """Who made a project: their account's id and email."""

    id: uuid.UUID
    email: str


@attrs.frozen
class ProjectView:
    """A generated project. ``answers`` hold secret answers redacted (``"***"``), as the
    job does; ``template_id`` is null once the template is deleted (``template_name``
    keeps its name), ``team_id`` is the template's team when it was made. ``job_id`` and
    ``archive``: the job that made it and where its archive downloads (null once the
    job is gone); ``destination``: null (the archive only) until publishing to a forge
    repository exists, then that repository's URL. ``latest_version`` is the template's
    latest and ``behind`` how many versions the project is behind it (both null once
    the template is deleted)."""

    id: uuid.UUID
    template_id: uuid.UUID | None
    template_name: str
    template_version: int
    latest_version: int | None
    behind: int | None
    answers: dict[str, Any]
    made_by: Maker
    team_id: uuid.UUID | None
    created_at: datetime
    job_id: uuid.UUID | None
    archive: str | None
    destination: str | None


@attrs.frozen
class ProjectPage:
    """One page of the projects a user can see (theirs and their teams'), newest first.
    ``next_cursor`` is opaque: pass it back as ``cursor``; null on the last page."""

    projects: tuple[ProjectView, ...]
    total: int
    limit: int
    next_cursor: str | None


@attrs.frozen
class FleetRow:
    """One project in a template's fleet: the version it was made from, how many
    versions it is behind the template's latest (0: up to date)."""

    project_id: uuid.UUID
    version: int
    behind: int
    made_by: Maker
    created_at: datetime
    would_conflict: bool | None = attrs.field(default=None,
                                              metadata={"description": WOULD_CONFLICT})


@attrs.frozen
class VersionCount:
    """How many of the fleet's projects were made from ``version``."""

    version: int
    behind: int
    projects: int


@attrs.frozen
class FleetView:
    """Every project made from a template that the caller can see (for a team's
    template: the team's projects only): ``total`` and the counts per version (the
    versions that have projects, newest first) cover them all; ``projects`` is one
    page of them, newest first (``next_cursor`` as in other lists)."""

    template_id: uuid.UUID
    latest_version: int
    total: int
    versions: tuple[VersionCount, ...]
    projects: tuple[FleetRow, ...]
    limit: int
    next_cursor: str | None
