"""Which plan a user has now, from their subscription rows and the clock.

A subscription grants its plan while ``active``; while ``past_due`` for the
grace period after the first failed payment; once ``canceled`` until the end
of the period already paid for. Then the user is on Free again; nothing they
made is deleted. ``users.role`` mirrors the plan (``free``, ``pro``,
``team_owner``); a ``team_member`` stays one when their own plan is Free.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..accounts.models import User, UserRole
from .models import Plan, Subscription, SubscriptionStatus
from .plans import PLAN_ORDER

PLAN_ROLES = {Plan.FREE: UserRole.FREE, Plan.PRO: UserRole.PRO, Plan.TEAM: UserRole.TEAM_OWNER}


def granted_plan(sub: Subscription, now: datetime, grace: timedelta) -> Plan:
    """The plan ``sub`` grants at ``now`` (Free once it no longer grants its own)."""
    match sub.status:
        case SubscriptionStatus.ACTIVE:
            return sub.plan
        case SubscriptionStatus.PAST_DUE:
            since = sub.past_due_since or now
            return sub.plan if now < since + grace else Plan.FREE
        case _:
            paid_until = sub.current_period_end
            return sub.plan if paid_until is not None and now < paid_until else Plan.FREE


def best(subs: Iterable[Subscription], now: datetime, grace: timedelta
         ) -> tuple[Plan, Subscription | None]:
    """The highest plan any of ``subs`` grants, and the subscription granting it (or the
    most recent one when none grants a paid plan)."""
    ranked = sorted(subs, key=lambda s: (PLAN_ORDER.index(granted_plan(s, now, grace)),
                                         s.start_date))
    if not ranked:
        return Plan.FREE, None
    return granted_plan(ranked[-1], now, grace), ranked[-1]


def current_plan(db: Session, user_id: uuid.UUID, now: datetime, grace: timedelta
                 ) -> tuple[Plan, Subscription | None]:
    subs = db.scalars(sa.select(Subscription).where(Subscription.user_id == user_id))
    return best(subs, now, grace)


def role_for(plan: Plan, role: UserRole) -> UserRole:
    if plan is Plan.FREE and role is UserRole.TEAM_MEMBER:
        return role
    return PLAN_ROLES[plan]


def sync_role(db: Session, user_id: uuid.UUID, plan: Plan) -> None:
    """Set ``users.role`` to mirror ``plan`` if it does not already."""
    user = db.get(User, user_id)
    if user is not None and user.role is not role_for(plan, user.role):
        user.role = role_for(plan, user.role)
