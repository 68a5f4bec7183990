"""Update use cases on an injected session; they flush, never commit.

Who may update: a project's maker (anyone else who sees it gets 403; who does not, 404,
as :mod:`launchpad_web.projects.access` says). Update jobs and their downloads are the
maker's only. The request is checked before a job exists: the target version is one
of the template's, newer than the project's (``$.version``); each answer names a
question of that version (``$.answers.<name>``) and passes its checks, run through
the evaluator (template code never runs in the request thread); the plan allows the
jobs (:meth:`~launchpad_web.billing.quotas.Quotas.check_updates`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session

from launchpad_core import Problem, Template
from launchpad_core.model.serialization import structure_template

from ..billing.quotas import Quotas
from ..clock import Clock
from ..db import end_transaction
from ..errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from ..evaluation import Evaluator
from ..jobs import leases
from ..jobs.models import REDACTED, JobStatus, log_entry
from ..projects.access import in_fleet, visible_to
from ..projects.models import Project
from ..projects.services import ProjectNotFoundError
from ..templates.access import visible_to as template_visible_to
from ..templates.models import TemplateRecord
from .models import UpdateJob
from .schemas import UpdateAllRequest, UpdateJobView, UpdateRequest

#: Given in place of a secret answer that is not given again, for the checks only.
UNCHANGED_SECRET = "unchanged-secret"


class UpdateJobNotFoundError(NotFoundError):
    code = "update_job_not_found"
    title = "No such update job"


class TemplateGoneError(ConflictError):
    code = "template_deleted"
    title = "The project's template was deleted"


@attrs.frozen
class Submitted:
    """A new update job and its secret answers (for the queue message only)."""

    view: UpdateJobView
    secrets: dict[str, Any]


class UpdateService:
    def __init__(self, *, quotas: Quotas, clock: Clock, evaluator: Evaluator | None = None):
        self.quotas = quotas
        self.clock = clock
        self.evaluator = evaluator or Evaluator()

    def submit(self, db: Session, *, user_id: uuid.UUID, project_id: uuid.UUID,
               request: UpdateRequest) -> Submitted:
        project = self._own_project(db, user_id, project_id)
        target = self._target(db, project, request.version)
        definition = leases.definition(db, project.template_id, target)
        if definition is None:  # a template saved without its versions' history
            raise ValidationFailedError.one("invalid_version", f"the template has no version "
                                            f"{target} any more", "$.version")
        template = structure_template(dict(definition))
        _known(template, request.answers)
        secret = {v.name for v in template.variables if v.secret}
        stored = {k: v for k, v in project.answers.items() if v != REDACTED or k not in secret}
        unchanged = {n: UNCHANGED_SECRET for n in secret if n not in request.answers}
        end_transaction(db)
        self.evaluator.answers(template, {**stored, **unchanged, **request.answers},
                               user_id=user_id)
        project = self._own_project(db, user_id, project_id)  # still there?
        self.quotas.check_updates(db, user_id=user_id, count=1)
        row = self._add(db, project, target, {k: REDACTED if k in secret else v
                                              for k, v in request.answers.items()})
        return Submitted(UpdateJobView.from_row(row),
                         {k: v for k, v in request.answers.items() if k in secret})

    def submit_all(self, db: Session, *, user_id: uuid.UUID, template_id: uuid.UUID,
                   request: UpdateAllRequest) -> list[UpdateJobView]:
        """One update job per project of the fleet that ``user_id`` made and that is behind
        the target (and has no update to it queued or running), all or none (the plan's
        bound is checked for all of them at once)."""
        template = db.execute(sa.select(TemplateRecord.id, TemplateRecord.version,
                                        TemplateRecord.team_id).where(
            TemplateRecord.id == template_id, template_visible_to(user_id))).first()
        if template is None:
            raise NotFoundError("no such template")
        target = request.version or template.version
        if not 1 <= target <= template.version:
            raise ValidationFailedError.one(
                "invalid_version", f"the template's versions are 1 to {template.version}",
                "$.version")
        under_way = sa.exists().where(UpdateJob.project_id == Project.id,
                                      UpdateJob.target_version == target,
                                      UpdateJob.status.in_(leases.ACTIVE))
        behind = db.scalars(sa.select(Project).where(
            in_fleet(template.id, template.team_id, user_id), Project.user_id == user_id,
            Project.template_version < target, ~under_way)
            .order_by(Project.created_at, Project.id)).all()
        if not behind:
            return []
        self.quotas.check_updates(db, user_id=user_id, count=len(behind))
        return [UpdateJobView.from_row(self._add(db, p, target, {})) for p in behind]

    def _add(self, db: Session, project: Project, target: int,
             answers: Mapping[str, Any]) -> UpdateJob:
        now = self.clock()
        row = UpdateJob(user_id=project.user_id, project_id=project.id,
                        generation_job_id=project.job_id,
                        from_version=project.template_version, target_version=target,
                        answers=dict(answers), status=JobStatus.PENDING, attempts=0,
                        created_at=now, updated_at=now,
                        log=[log_entry(now, "queued", f"updating from version "
                                       f"{project.template_version} to {target}; waiting "
                                       "for a worker")])
        db.add(row)
        db.flush()
        return row

    def _own_project(self, db: Session, user_id: uuid.UUID, project_id: uuid.UUID) -> Project:
        project = db.scalar(sa.select(Project).where(Project.id == project_id,
                                                     visible_to(user_id)))
        if project is None:
            raise ProjectNotFoundError()
        if project.user_id != user_id:
            raise ForbiddenError("only the project's maker may update it")
        if project.template_id is None:
            raise TemplateGoneError("the project's template was deleted: it cannot be updated")
        return project

    @staticmethod
    def _target(db: Session, project: Project, version: int | None) -> int:
        latest = db.scalar(sa.select(TemplateRecord.version).where(
            TemplateRecord.id == project.template_id))
        target = latest if version is None else version
        if latest is None or not project.template_version < target <= latest:
            raise ValidationFailedError.one(
                "invalid_version", f"the project is at version {project.template_version} "
                f"and the template's latest is {latest}: give a version after the project's",
                "$.version")
        return target

    # -- reading ---------------------------------------------------------------------
    def get(self, db: Session, *, user_id: uuid.UUID, project_id: uuid.UUID,
            update_id: uuid.UUID) -> UpdateJobView:
        return UpdateJobView.from_row(self.row(db, user_id, project_id, update_id))

    def row(self, db: Session, user_id: uuid.UUID, project_id: uuid.UUID,
            update_id: uuid.UUID) -> UpdateJob:
        """The update job if it is ``user_id``'s (404 otherwise, as for no such job)."""
        row = db.scalar(sa.select(UpdateJob).where(
            UpdateJob.id == update_id, UpdateJob.project_id == project_id,
            UpdateJob.user_id == user_id).execution_options(populate_existing=True))
        if row is None:
            raise UpdateJobNotFoundError()
        return row

    def of_project(self, db: Session, *, user_id: uuid.UUID,
                   project_id: uuid.UUID) -> list[UpdateJobView]:
        """The update jobs of a project the user sees, theirs only, newest first."""
        if db.scalar(sa.select(Project.id).where(Project.id == project_id,
                                                 visible_to(user_id))) is None:
            raise ProjectNotFoundError()
        rows = db.scalars(sa.select(UpdateJob).where(
            UpdateJob.project_id == project_id, UpdateJob.user_id == user_id)
            .order_by(UpdateJob.created_at.desc(), UpdateJob.id)
            .execution_options(populate_existing=True))
        return [UpdateJobView.from_row(row) for row in rows]


def _known(template: Template, answers: Mapping[str, Any]) -> None:
    known = {v.name for v in template.variables}
    unknown = sorted(name for name in answers if name not in known)
    if unknown:
        raise ValidationFailedError.from_problems(
            [Problem("unknown_question", "the target version has no such question", f"$.{n}")
             for n in unknown], root="$.answers")
