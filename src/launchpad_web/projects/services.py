"""Project use cases on an injected session; they flush, never commit.

Access follows :mod:`.access`. Lists are newest first, by ``(created_at, id)``,
with the opaque cursors of the templates list (there the sort key is a name, here
the creation time).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..errors import ForbiddenError, NotFoundError, ValidationFailedError
from ..teams.access import team_role
from ..templates.access import visible_to as template_visible_to
from ..templates.models import TemplateRecord
from ..templates.services import decode_cursor, encode_cursor
from .access import in_fleet, may_delete, visible_to
from .models import Project, ProjectCheck
from .schemas import FleetRow, FleetView, Maker, ProjectPage, ProjectView, VersionCount

PAGE_DEFAULT = 20
PAGE_MAX = 100
FLEET_DEFAULT = 100
FLEET_MAX = 1000


class ProjectNotFoundError(NotFoundError):
    code = "project_not_found"
    title = "No such project"


@attrs.frozen
class ListQuery:
    """``GET /api/projects`` parameters: page size, opaque cursor, and optionally one
    team's projects or one template's."""

    limit: int = PAGE_DEFAULT
    cursor: str | None = None
    team_id: uuid.UUID | None = None
    template_id: uuid.UUID | None = None


@attrs.frozen
class Page:
    """A page of a newest-first list: its size and the cursor it starts after."""

    limit: int
    cursor: str | None = None

    def after(self, select: sa.Select[Any]) -> sa.Select[Any]:
        """``select`` ordered newest first, limited to one more row than the page (to
        know whether another page follows), after the cursor."""
        select = select.order_by(Project.created_at.desc(), Project.id.desc()).limit(
            self.limit + 1)
        if self.cursor is None:
            return select
        text, after = decode_cursor(self.cursor)
        try:
            at = datetime.fromisoformat(text)
            if at.tzinfo is None:
                raise ValueError("naive")
        except ValueError:
            raise ValidationFailedError.one(
                "invalid_cursor", "not a cursor this API gave out", "cursor") from None
        return select.where(sa.or_(Project.created_at < at,
                                   sa.and_(Project.created_at == at, Project.id < after)))

    def cut(self, rows: list[Any]) -> tuple[list[Any], str | None]:
        """The page's rows and the next page's cursor (None on the last page)."""
        if len(rows) <= self.limit:
            return rows, None
        last = rows[self.limit - 1]
        return rows[: self.limit], encode_cursor(last.created_at.isoformat(), last.id)


def _view(row: Project, email: str, latest: int | None) -> ProjectView:
    return ProjectView(
        id=row.id, template_id=row.template_id, template_name=row.template_name,
        template_version=row.template_version, latest_version=latest,
        behind=None if latest is None else max(latest - row.template_version, 0),
        answers=dict(row.answers),
        made_by=Maker(row.user_id, email), team_id=row.team_id, created_at=row.created_at,
        job_id=row.job_id,
        archive=f"/api/generate/{row.job_id}/download" if row.job_id else None,
        destination=row.destination)


def _with_maker_and_latest(select: sa.Select[Any]) -> sa.Select[Any]:
    """``select`` of projects with their maker's ``email`` and their template's ``latest``
    version (null once it is deleted)."""
    return (select.add_columns(User.email, TemplateRecord.version.label("latest"))
            .join(User, User.id == Project.user_id)
            .outerjoin(TemplateRecord, TemplateRecord.id == Project.template_id))


def _check_at(version: int) -> sa.ColumnElement[bool]:
    """The join of a project to its fleet answer for ``version`` (the latest)."""
    return sa.and_(ProjectCheck.project_id == Project.id, ProjectCheck.target_version == version)


def _would_conflict(row: sa.Row, latest: int) -> bool | None:
    """An up-to-date project has nothing to conflict; else the worker's answer (None while
    it is unknown)."""
    return False if row.template_version >= latest else row.would_conflict


class ProjectService:
    # -- reading ---------------------------------------------------------------------
    def list(self, db: Session, *, user_id: uuid.UUID, query: ListQuery) -> ProjectPage:
        visible = _with_maker_and_latest(sa.select(Project)).where(visible_to(user_id))
        if query.team_id is not None:
            if team_role(db, query.team_id, user_id) is None:
                raise NotFoundError("no such team", field="team_id")
            visible = visible.where(Project.team_id == query.team_id)
        if query.template_id is not None:
            visible = visible.where(Project.template_id == query.template_id)
        count = sa.select(sa.func.count()).select_from(visible.subquery())
        page = Page(query.limit, query.cursor)
        found = db.execute(page.after(visible.add_columns(
            count.scalar_subquery().label("total")))).all()
        total = found[0].total if found else (db.scalar(count) if query.cursor else 0)
        rows, cursor = page.cut([row.Project for row in found])
        extra = {row.Project.id: (row.email, row.latest) for row in found}
        return ProjectPage(projects=tuple(_view(r, *extra[r.id]) for r in rows), total=total,
                           limit=query.limit, next_cursor=cursor)

    def get(self, db: Session, *, user_id: uuid.UUID, project_id: uuid.UUID) -> ProjectView:
        found = db.execute(_with_maker_and_latest(sa.select(Project)).where(
            Project.id == project_id, visible_to(user_id))).first()
        if found is None:
            raise ProjectNotFoundError()
        return _view(found.Project, found.email, found.latest)

    def fingerprint(self, db: Session, *, user_id: uuid.UUID,
                    template_id: uuid.UUID) -> tuple[Any, ...]:
        """What a fleet answer depends on, read in two small queries (see
        :mod:`.fleet_cache`): the template's latest version, the number, newest creation
        time and sum of versions of the projects the user sees in it, and how many of its
        projects have a worker's "would it conflict" answer for that version and when the
        latest came; 404 for a template they do not see."""
        template = self._fleet_template(db, user_id, template_id)
        seen = db.execute(sa.select(sa.func.count(), sa.func.max(Project.created_at),
                                    sa.func.sum(Project.template_version))
                          .where(in_fleet(template.id, template.team_id, user_id))).one()
        # The template's projects answered by a worker for the latest version (all of
        # them: an answer the caller cannot see only costs a rebuild).
        checked = db.execute(sa.select(sa.func.count(ProjectCheck.checked_at),
                                       sa.func.max(ProjectCheck.checked_at))
                             .join(Project, Project.id == ProjectCheck.project_id)
                             .where(Project.template_id == template.id,
                                    ProjectCheck.target_version == template.version)).one()
        return (template.version, *seen, *checked)

    @staticmethod
    def _fleet_template(db: Session, user_id: uuid.UUID, template_id: uuid.UUID) -> sa.Row:
        template = db.execute(sa.select(TemplateRecord.id, TemplateRecord.version,
                                        TemplateRecord.team_id).where(
            TemplateRecord.id == template_id, template_visible_to(user_id))).first()
        if template is None:
            raise NotFoundError("no such template")
        return template

    def fleet(self, db: Session, *, user_id: uuid.UUID, template_id: uuid.UUID,
              page: Page) -> FleetView:
        """The projects of a template the user sees, with counts per version."""
        template = self._fleet_template(db, user_id, template_id)
        where = in_fleet(template.id, template.team_id, user_id)
        latest = template.version
        counts = [VersionCount(version=v, behind=max(latest - v, 0), projects=n)
                  for v, n in db.execute(
                      sa.select(Project.template_version, sa.func.count()).where(where)
                      .group_by(Project.template_version)
                      .order_by(Project.template_version.desc()))]
        found = db.execute(page.after(
            sa.select(Project.id, Project.template_version, Project.created_at,
                      Project.user_id, User.email, ProjectCheck.would_conflict)
            .join(User, User.id == Project.user_id)
            .outerjoin(ProjectCheck, _check_at(latest)).where(where))).all()
        rows, cursor = page.cut(found)
        return FleetView(
            template_id=template.id, latest_version=latest,
            total=sum(c.projects for c in counts), versions=tuple(counts),
            projects=tuple(FleetRow(project_id=r.id, version=r.template_version,
                                    behind=max(latest - r.template_version, 0),
                                    made_by=Maker(r.user_id, r.email), created_at=r.created_at,
                                    would_conflict=_would_conflict(r, latest))
                           for r in rows),
            limit=page.limit, next_cursor=cursor)

    # -- writing -----------------------------------------------------------------------
    def delete(self, db: Session, *, user_id: uuid.UUID, project_id: uuid.UUID) -> None:
        row = db.scalar(sa.select(Project).where(Project.id == project_id, visible_to(user_id)))
        if row is None:
            raise ProjectNotFoundError()
        role = team_role(db, row.team_id, user_id) if row.team_id is not None else None
        if not may_delete(row.user_id, row.team_id, user_id, role):
            raise ForbiddenError("only the project's maker and the team's owners and admins "
                                 "may delete it")
        db.delete(row)
        db.flush()
