"""Request bodies and value objects of the billing domain (what the API reads and answers)."""

from __future__ import annotations

import uuid
from datetime import datetime

import attrs

from .models import Plan, SubscriptionStatus
from .plans import Period, PlanLimits


@attrs.frozen
class CheckoutRequest:
    plan: Plan


@attrs.frozen
class CheckoutView:
    """A Checkout Session: send the person to ``url`` to pay."""

    id: str
    url: str


@attrs.frozen
class PortalView:
    url: str


@attrs.frozen
class PeriodView:
    """The usage period (the calendar month, UTC): ``start <= t < end``."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, period: Period) -> PeriodView:
        return cls(start=period.start, end=period.end)


@attrs.frozen
class LimitsView:
    """A plan's limits; null means unlimited."""

    private_templates: int | None
    generations_per_month: int | None
    teams: bool

    @classmethod
    def of(cls, limits: PlanLimits) -> LimitsView:
        return cls(private_templates=limits.private_templates,
                   generations_per_month=limits.generations_per_month, teams=limits.teams)


@attrs.frozen
class UsageView:
    """Private templates now, and generations not on a team template this period."""

    private_templates: int
    generations: int


@attrs.frozen
class TeamUsageView:
    """Generations on the templates of a team the user owns, this period."""

    team_id: uuid.UUID
    name: str
    generations: int
    limit: int | None


@attrs.frozen
class SubscriptionView:
    """The user's plan now, why, its limits and what is used of them.

    ``status`` is the subscription's (``active`` without one); a ``past_due``
    plan holds for a grace period, a ``canceled`` one until ``current_period_end``.
    """

    plan: Plan
    status: SubscriptionStatus
    provider: str
    paid_plans_available: bool
    current_period_end: datetime | None
    cancel_at_period_end: bool
    period: PeriodView
    limits: LimitsView
    usage: UsageView
    teams: list[TeamUsageView]


@attrs.frozen
class WebhookResult:
    """``processed``, ``duplicate`` (this event id was handled before) or ``ignored``."""

    result: str
