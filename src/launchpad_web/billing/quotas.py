"""Plan limits enforced at the moment of use: the contract other domains call.

``templates`` calls :meth:`Quotas.check_template_create`, ``teams``
:meth:`Quotas.check_team_create` and ``jobs`` :meth:`Quotas.check_generation`
then :meth:`Quotas.check_jobs_in_flight`, each inside the request's transaction
and just before inserting the row, so the check and the insert commit together.

Concurrency: a check locks the row the limit belongs to (the user's, or the
team's for a team template's generations) with ``SELECT ... FOR UPDATE`` on
PostgreSQL, then counts; a concurrent check for the same owner waits until
the first transaction commits its insert, and then counts it. SQLite runs
every write transaction with ``BEGIN IMMEDIATE``, one at a time, which gives
the same result.

Usage: a generation is a ``generation_jobs`` row created in the calendar
month (UTC) whose status is not ``failed`` -- each job counts once, and a
failed one gives its generation back. A job on a team template counts for the
team (against its owner's plan), any other job for the user who asked for it.

Jobs in flight: the ``pending`` and ``processing`` jobs of the user who asks,
whatever the template, against that user's own plan; at the limit 429
``too_many_jobs`` with ``Retry-After`` (:data:`JOBS_RETRY_AFTER_SECONDS`, about
how long a small job takes), since waiting is enough to pass it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..clock import Clock, system_clock
from ..errors import NotFoundError, PlanRequiredError, QuotaExceededError, TooManyJobsError
from .current_plan import current_plan, sync_role
from .models import Plan
from .plans import Period, PlanCatalog, PlanLimits

JOBS_RETRY_AFTER_SECONDS = 10


class Usage(Protocol):
    """What the limits are counted on, read from the domains that own it (templates, jobs,
    teams): :class:`launchpad_web.usage.DomainUsage`, handed in by ``create_app`` so that
    billing imports none of them."""

    def private_templates(self, db: Session, user_id: uuid.UUID) -> int: ...

    def jobs_in_flight(self, db: Session, user_id: uuid.UUID) -> int: ...

    def updates_in_flight(self, db: Session, user_id: uuid.UUID) -> int: ...

    def personal_generations(self, db: Session, user_id: uuid.UUID, period: Period) -> int: ...

    def team_generations(self, db: Session, team_id: uuid.UUID, period: Period) -> int: ...

    def team_owner(self, db: Session, team_id: uuid.UUID, *, lock: bool) -> uuid.UUID | None:
        ...

    def owned_teams(self, db: Session, user_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]: ...


class Quotas:
    """Checks a plan's limits; raises an ``ApiError`` (402 or 404) when one is exceeded."""

    def __init__(self, *, usage: Usage, plans: PlanCatalog | None = None,
                 clock: Clock = system_clock, past_due_grace: timedelta = timedelta(days=7),
                 enforced: bool = True):
        self.usage = usage
        self.plans = plans or PlanCatalog()
        self.enforced = enforced
        self.unenforced = PlanLimits(private_templates=None, generations_per_month=None,
                                     teams=True,
                                     jobs_in_flight=self.plans[Plan.TEAM].jobs_in_flight)
        self.clock = clock
        self.past_due_grace = past_due_grace

    def check_template_create(
        self, db: Session, *, user_id: uuid.UUID, team_id: uuid.UUID | None
    ) -> None:
        """Before a template is created for ``user_id`` (or in ``team_id``)."""
        if team_id is not None:
            self._team_owner_limits(db, team_id)
            return
        plan, limits = self._lock_user(db, user_id)
        used = self.usage.private_templates(db, user_id)
        if limits.private_templates is not None and used >= limits.private_templates:
            raise QuotaExceededError(
                f"the {plan.title()} plan allows {limits.private_templates} private templates; "
                "delete one or change plan")

    def check_team_create(self, db: Session, *, user_id: uuid.UUID) -> None:
        """Before ``user_id`` creates a team (teams need the Team plan)."""
        plan, limits = self._lock_user(db, user_id)
        if not limits.teams:
            raise PlanRequiredError(f"teams need the Team plan; you are on {plan.title()}")

    def check_generation(
        self, db: Session, *, user_id: uuid.UUID, team_id: uuid.UUID | None
    ) -> None:
        """Before a generation job is queued for ``user_id`` (on a ``team_id`` template)."""
        period = Period.month_of(self.clock())
        if team_id is None:
            plan, limits = self._lock_user(db, user_id)
            used = self.usage.personal_generations(db, user_id, period)
            whose = f"the {plan.title()} plan"
        else:
            limits = self._team_owner_limits(db, team_id, lock=True)
            used, whose = self.usage.team_generations(db, team_id, period), "this team's plan"
        if limits.generations_per_month is not None and used >= limits.generations_per_month:
            raise QuotaExceededError(
                f"{whose} allows {limits.generations_per_month} generations a month; "
                f"the count starts again on {period.end.date().isoformat()}")

    def check_jobs_in_flight(self, db: Session, *, user_id: uuid.UUID) -> None:
        """Before a generation job is queued for ``user_id``: after :meth:`check_generation`
        (which locks a team's row before this locks the user's, the order membership
        changes take too)."""
        plan, limits = self._lock_user(db, user_id)
        if limits.jobs_in_flight is None:
            return
        if self.usage.jobs_in_flight(db, user_id) >= limits.jobs_in_flight:
            raise TooManyJobsError(
                f"the {plan.title()} plan allows {limits.jobs_in_flight} jobs queued or "
                "running at once; wait for one to finish", retry_after=JOBS_RETRY_AFTER_SECONDS)

    def check_updates(self, db: Session, *, user_id: uuid.UUID, count: int) -> None:
        """Before ``count`` update jobs (:mod:`launchpad_web.updates`) are queued for
        ``user_id`` at once (one, or a fleet's "update all"): they share the plan's jobs in
        flight with generation jobs. More than the plan ever runs at once: 402
        ``quota_exceeded`` (update fewer, or change plan); more than it runs now: 429
        ``too_many_jobs`` with ``Retry-After``. Updates are not generations: they do not
        count against the month's generations."""
        plan, limits = self._lock_user(db, user_id)
        if limits.jobs_in_flight is None:
            return
        if count > limits.jobs_in_flight:
            raise QuotaExceededError(
                f"the {plan.title()} plan runs {limits.jobs_in_flight} jobs at once and this "
                f"would queue {count} updates: update fewer projects, or change plan")
        busy = (self.usage.jobs_in_flight(db, user_id)
                + self.usage.updates_in_flight(db, user_id))
        if busy + count > limits.jobs_in_flight:
            raise TooManyJobsError(
                f"the {plan.title()} plan allows {limits.jobs_in_flight} jobs queued or "
                f"running at once and {busy} are; wait for them to finish",
                retry_after=JOBS_RETRY_AFTER_SECONDS)

    def plan_of(self, db: Session, user_id: uuid.UUID) -> Plan:
        """The plan ``user_id`` has now."""
        return current_plan(db, user_id, self.clock(), self.past_due_grace)[0]

    def _lock_user(self, db: Session, user_id: uuid.UUID) -> tuple[Plan, PlanLimits]:
        locked = db.scalar(sa.select(User.id).where(User.id == user_id).with_for_update())
        if locked is None:
            raise NotFoundError("no such user")
        plan = self.plan_of(db, user_id)
        sync_role(db, user_id, plan)
        return plan, self.limits(plan)

    def limits(self, plan: Plan) -> PlanLimits:
        """What ``plan`` allows here: its limits, or every feature when plans are not
        enforced (no billing provider: a self-hosted service)."""
        return self.plans[plan] if self.enforced else self.unenforced

    def _team_owner_limits(self, db: Session, team_id: uuid.UUID, *,
                           lock: bool = False) -> PlanLimits:
        owner_id = self.usage.team_owner(db, team_id, lock=lock)
        if owner_id is None:
            raise NotFoundError("no such team", field="$.team_id")
        plan = self.plan_of(db, owner_id)
        limits = self.limits(plan)
        if not limits.teams:
            raise PlanRequiredError("team templates need the team owner to be on the Team plan")
        return limits
