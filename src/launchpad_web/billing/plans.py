"""Plans and their limits: the one place they are defined.

Defaults: Free has 3 private templates, 20 generations a month, 2 jobs in
flight and no teams; Pro has unlimited templates, 1,000 generations a month and
10 jobs in flight; Team adds teams (shared team templates, members), 5,000
generations a month per team and 25 jobs in flight. Jobs in flight are a user's
generation jobs queued or running at once (whatever template they use), so one
account cannot fill the workers' queue.
``LAUNCHPAD_PLAN_LIMITS`` overrides any of them with comma-separated
``plan.limit=value`` pairs, e.g. ``free.templates=5,team.generations=10000``;
the limits are ``templates``, ``generations`` and ``jobs_in_flight`` (an integer
or ``unlimited``) and ``teams`` (``yes`` or ``no``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

from ..errors import ConfigurationError
from .models import Plan

LIMIT_NAMES = {"templates": "private_templates", "generations": "generations_per_month",
               "jobs_in_flight": "jobs_in_flight"}
YES_NO = {"yes": True, "no": False}


@attrs.frozen
class PlanLimits:
    """What one plan allows; None means unlimited."""

    private_templates: int | None
    generations_per_month: int | None
    teams: bool
    jobs_in_flight: int | None


DEFAULT_LIMITS = {
    Plan.FREE: PlanLimits(private_templates=3, generations_per_month=20, teams=False,
                          jobs_in_flight=2),
    Plan.PRO: PlanLimits(private_templates=None, generations_per_month=1000, teams=False,
                         jobs_in_flight=10),
    Plan.TEAM: PlanLimits(private_templates=None, generations_per_month=5000, teams=True,
                          jobs_in_flight=25),
}

PLAN_ORDER = (Plan.FREE, Plan.PRO, Plan.TEAM)


@attrs.frozen
class PlanCatalog:
    """The limits of every plan."""

    limits: dict[Plan, PlanLimits] = attrs.field(factory=lambda: dict(DEFAULT_LIMITS))

    def __getitem__(self, plan: Plan) -> PlanLimits:
        return self.limits[plan]

    @classmethod
    def parse(cls, text: str | None) -> PlanCatalog:
        """The defaults with ``LAUNCHPAD_PLAN_LIMITS``' overrides; ConfigurationError if bad."""
        limits = dict(DEFAULT_LIMITS)
        for pair in filter(None, (part.strip() for part in (text or "").split(","))):
            plan, name, value = _split(pair)
            limits[plan] = attrs.evolve(limits[plan], **{name: value})
        return cls(limits)


def _split(pair: str) -> tuple[Plan, str, int | bool | None]:
    key, equals, raw = pair.partition("=")
    plan_name, _dot, limit = key.strip().partition(".")
    raw = raw.strip().lower()
    if not equals or plan_name not in Plan.__members__.values() or (
        limit not in LIMIT_NAMES and limit != "teams"
    ):
        raise ConfigurationError(
            f"LAUNCHPAD_PLAN_LIMITS: {pair!r} is not plan.limit=value with a plan of "
            f"free, pro, team and a limit of templates, generations, jobs_in_flight, teams")
    if limit == "teams":
        if raw not in YES_NO:
            raise ConfigurationError(f"LAUNCHPAD_PLAN_LIMITS: {key.strip()} must be yes or no")
        return Plan(plan_name), "teams", YES_NO[raw]
    if raw == "unlimited":
        return Plan(plan_name), LIMIT_NAMES[limit], None
    if not raw.isdigit():
        raise ConfigurationError(
            f"LAUNCHPAD_PLAN_LIMITS: {key.strip()} must be a whole number or unlimited")
    return Plan(plan_name), LIMIT_NAMES[limit], int(raw)


@attrs.frozen
class Period:
    """A usage period: the calendar month (UTC) ``start <= t < end``."""

    start: datetime
    end: datetime

    @classmethod
    def month_of(cls, now: datetime) -> Period:
        start = datetime(now.year, now.month, 1, tzinfo=UTC)
        end = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
        return cls(start, end)
