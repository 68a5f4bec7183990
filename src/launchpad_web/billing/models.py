"""Tables of the billing domain: subscriptions and webhook_events.

A ``Subscription`` row mirrors one payment-provider subscription as last read
from the provider (never as an event described it). Usage is not stored: a
period's generations are the ``generation_jobs`` rows of that period that did
not fail (see :mod:`launchpad_web.billing.quotas`).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, HasId, HasTimestamps, utc_now


class Plan(enum.StrEnum):
    FREE = "free"
    PRO = "pro"
    TEAM = "team"


class SubscriptionStatus(enum.StrEnum):
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"


class Subscription(HasId, HasTimestamps, Base):
    __tablename__ = "subscriptions"

    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    plan: Mapped[Plan] = mapped_column(default=Plan.FREE)
    stripe_customer_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    status: Mapped[SubscriptionStatus] = mapped_column(default=SubscriptionStatus.ACTIVE)
    start_date: Mapped[datetime] = mapped_column(default=utc_now)
    end_date: Mapped[datetime | None]
    current_period_start: Mapped[datetime | None]
    current_period_end: Mapped[datetime | None]
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    past_due_since: Mapped[datetime | None]


class WebhookEvent(HasId, Base):
    """A provider's event already processed; the unique pair makes handling idempotent."""

    __tablename__ = "webhook_events"
    __table_args__ = (sa.UniqueConstraint("provider", "event_id"),)

    provider: Mapped[str] = mapped_column(sa.String(50))
    event_id: Mapped[str] = mapped_column(sa.String(255))
    type: Mapped[str] = mapped_column(sa.String(255))
    received_at: Mapped[datetime] = mapped_column(default=utc_now)
