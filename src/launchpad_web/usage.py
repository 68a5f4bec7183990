"""What plan limits are counted on, read from the domains that own it.

:class:`DomainUsage` implements :class:`launchpad_web.billing.quotas.Usage`; it lives
beside the domains (like :mod:`launchpad_web.personal_data`) because it reads templates,
jobs and teams, which themselves call billing's quotas.

A generation is a ``generation_jobs`` row created in the period whose status is not
``failed``; one on a team template counts for the team, any other for its user.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .billing.plans import Period
from .jobs.models import GenerationJob, JobStatus
from .teams.models import Team
from .templates.models import TemplateRecord
from .updates.models import UpdateJob

IN_FLIGHT = (JobStatus.PENDING, JobStatus.PROCESSING)


class DomainUsage:
    def private_templates(self, db: Session, user_id: uuid.UUID) -> int:
        return db.scalar(sa.select(sa.func.count()).select_from(TemplateRecord).where(
            TemplateRecord.owner_id == user_id, TemplateRecord.team_id.is_(None))) or 0

    def jobs_in_flight(self, db: Session, user_id: uuid.UUID) -> int:
        """``user_id``'s jobs queued or running now."""
        return db.scalar(sa.select(sa.func.count(GenerationJob.id)).where(
            GenerationJob.user_id == user_id, GenerationJob.status.in_(IN_FLIGHT))) or 0

    def updates_in_flight(self, db: Session, user_id: uuid.UUID) -> int:
        """``user_id``'s update jobs queued or running now."""
        return db.scalar(sa.select(sa.func.count(UpdateJob.id)).where(
            UpdateJob.user_id == user_id, UpdateJob.status.in_(IN_FLIGHT))) or 0

    def personal_generations(self, db: Session, user_id: uuid.UUID, period: Period) -> int:
        """Generations of ``user_id`` in ``period`` that are not on a team template."""
        return db.scalar(_generations(period).where(
            GenerationJob.user_id == user_id, TemplateRecord.team_id.is_(None))) or 0

    def team_generations(self, db: Session, team_id: uuid.UUID, period: Period) -> int:
        """Generations on ``team_id``'s templates in ``period``, by any member."""
        return db.scalar(_generations(period).where(TemplateRecord.team_id == team_id)) or 0

    def team_owner(self, db: Session, team_id: uuid.UUID, *, lock: bool) -> uuid.UUID | None:
        """The team's owner (its row locked FOR UPDATE with ``lock``), None if no such team."""
        query = sa.select(Team.owner_id).where(Team.id == team_id)
        return db.scalar(query.with_for_update() if lock else query)

    def owned_teams(self, db: Session, user_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
        """The ids and names of the teams ``user_id`` owns, by name."""
        return [(row.id, row.name) for row in db.execute(
            sa.select(Team.id, Team.name).where(Team.owner_id == user_id)
            .order_by(Team.name, Team.id))]


def _generations(period: Period) -> sa.Select[tuple[int]]:
    return (
        sa.select(sa.func.count(GenerationJob.id))
        .select_from(GenerationJob)
        .outerjoin(TemplateRecord, TemplateRecord.id == GenerationJob.template_id)
        .where(GenerationJob.created_at >= period.start, GenerationJob.created_at < period.end,
               GenerationJob.status != JobStatus.FAILED)
    )
