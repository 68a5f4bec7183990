"""Recording a project when its generation job completes.

The worker calls :func:`record` right after :func:`launchpad_web.jobs.leases.complete`
(:func:`launchpad_worker.runner.complete`), in the same transaction as the job's
completion: a project exists exactly when its job is completed. One ``INSERT ...
SELECT ... WHERE NOT EXISTS`` (with the unique ``job_id`` behind it) makes it
idempotent: a retried completion, or a second call, records nothing more.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..jobs.models import GenerationJob
from ..templates.models import TemplateRecord
from .models import Project


def record(db: Session, job_id: uuid.UUID, *, now: datetime) -> bool:
    """Record the project job ``job_id`` made (its answers as the job stores them: secret
    answers already redacted); False when it was recorded before."""
    source = (
        sa.select(
            sa.literal(uuid.uuid4(), Project.id.type),
            GenerationJob.user_id,
            TemplateRecord.team_id,
            GenerationJob.template_id,
            sa.func.coalesce(TemplateRecord.name, ""),
            GenerationJob.template_version,
            GenerationJob.answers,
            GenerationJob.id,
            sa.literal(now, Project.created_at.type),
        )
        .select_from(GenerationJob)
        .outerjoin(TemplateRecord, TemplateRecord.id == GenerationJob.template_id)
        .where(
            GenerationJob.id == job_id,
            GenerationJob.template_version.is_not(None),
            ~sa.exists().where(Project.job_id == job_id),
        )
    )
    columns = ("id", "user_id", "team_id", "template_id", "template_name", "template_version",
               "answers", "job_id", "created_at")
    inserted = db.execute(sa.insert(Project).from_select(columns, source))
    return inserted.rowcount == 1


def published(db: Session, job_id: uuid.UUID, url: str) -> None:
    """Generation job ``job_id``'s project went to the repository at ``url`` (the latest
    publication wins: the project's ``destination``)."""
    db.execute(sa.update(Project).where(Project.job_id == job_id).values(destination=url)
               .execution_options(synchronize_session=False))
