"""The fleet's "would updating conflict" answers (:class:`~.models.ProjectCheck`), one per
project and target version: written by workers (an update job's merge, or a check job
that only merges), read by the fleet in one join. Never computed in a request."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..projects.models import Project, ProjectCheck
from ..templates.models import TemplateRecord


def record(db: Session, project_id: uuid.UUID, target_version: int, *,
           would_conflict: bool | None, now: datetime) -> None:
    """Set the answer for the project and version (None: it could not be computed: the
    forge repository is gone, say), whether or not a row exists yet; two writers at once leave one
    row. ``checked_at`` says a worker answered."""
    values = {"would_conflict": would_conflict, "checked_at": now}
    where = sa.and_(ProjectCheck.project_id == project_id,
                    ProjectCheck.target_version == target_version)
    if _update(db, where, values):
        return
    try:
        with db.begin_nested():
            db.add(ProjectCheck(project_id=project_id, target_version=target_version,
                                created_at=now, **values))
    except IntegrityError:  # another writer inserted it first
        _update(db, where, values)


def claim(db: Session, project_id: uuid.UUID, target_version: int, *, now: datetime) -> bool:
    """Note that a check of the project at the version is under way; False when one was
    noted (or answered) before, so each is computed once."""
    if db.scalar(sa.select(ProjectCheck.id).where(
            ProjectCheck.project_id == project_id,
            ProjectCheck.target_version == target_version)) is not None:
        return False
    try:
        with db.begin_nested():
            db.add(ProjectCheck(project_id=project_id, target_version=target_version,
                                created_at=now, would_conflict=None))
    except IntegrityError:
        return False
    return True


def stalled(db: Session, *, before: datetime, now: datetime,
            limit: int) -> list[tuple[uuid.UUID, int]]:
    """Checks noted before ``before`` that no worker answered (it was stopped): noted
    again now, each by a compare-and-set, so one sweep of several re-queues it."""
    found = db.execute(sa.select(ProjectCheck.id, ProjectCheck.project_id,
                                 ProjectCheck.target_version, ProjectCheck.created_at)
                       .where(ProjectCheck.checked_at.is_(None),
                              ProjectCheck.created_at < before).limit(limit)).all()
    again = []
    for row in found:
        if _update(db, sa.and_(ProjectCheck.id == row.id,
                               ProjectCheck.created_at == row.created_at,
                               ProjectCheck.checked_at.is_(None)), {"created_at": now}):
            again.append((row.project_id, row.target_version))
    return again


def superseded(db: Session, *, limit: int) -> list[uuid.UUID]:
    """Delete up to ``limit`` answers the fleet no longer reads (their version is no
    longer the template's latest, the project is at it already, or the template was
    deleted); their ids."""
    latest = (sa.select(TemplateRecord.version)
              .where(TemplateRecord.id == Project.template_id).scalar_subquery())
    found = list(db.scalars(
        sa.select(ProjectCheck.id).join(Project, Project.id == ProjectCheck.project_id)
        .where(sa.or_(Project.template_id.is_(None),
                      ProjectCheck.target_version <= Project.template_version,
                      ProjectCheck.target_version < latest))
        .limit(limit)))
    if found:
        db.execute(sa.delete(ProjectCheck).where(ProjectCheck.id.in_(found))
                   .execution_options(synchronize_session=False))
    return found


def _update(db: Session, where: sa.ColumnElement[bool], values: dict) -> bool:
    return db.execute(sa.update(ProjectCheck).where(where).values(**values)
                      .execution_options(synchronize_session=False)).rowcount == 1
