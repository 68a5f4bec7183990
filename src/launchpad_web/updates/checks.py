"""The fleet's "would updating conflict" answers (:class:`~.models.ProjectCheck`), one per
project and target version: written by workers (an update job's merge, or a check job
that only merges), read by the fleet in one join. Never computed in a request."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import ProjectCheck


def record(db: Session, project_id: uuid.UUID, target_version: int, *,
           would_conflict: bool | None, now: datetime) -> None:
    """Set the answer for the project and version (None: being computed), whether or not a
    row exists yet; two writers at once leave one row."""
    values = {"would_conflict": would_conflict, "checked_at": None if would_conflict is None
              else now}
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


def _update(db: Session, where: sa.ColumnElement[bool], values: dict) -> bool:
    return db.execute(sa.update(ProjectCheck).where(where).values(**values)
                      .execution_options(synchronize_session=False)).rowcount == 1
