"""Billing use cases on an injected session: the plan overview, checkout, the portal.

The payment provider comes from the core's ``launchpad_billing_provider`` hook;
its errors become this service's problems here (503 ``billing_unavailable``).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from launchpad_core.plugins.billing import BillingProvider
from launchpad_core.plugins.billing import BillingUnavailableError as ProviderUnavailable

from ..accounts.schemas import UserView
from ..db import end_transaction
from ..errors import (
    AlreadySubscribedError,
    BillingUnavailableError,
    NoBillingAccountError,
    ValidationFailedError,
)
from .current_plan import current_plan
from .models import Plan, Subscription, SubscriptionStatus
from .plans import Period
from .quotas import Quotas
from .schemas import (
    CheckoutView,
    LimitsView,
    PeriodView,
    PortalView,
    SubscriptionView,
    TeamUsageView,
    UsageView,
)

BILLING_PAGE = "/billing"


@contextlib.contextmanager
def provider_errors(what_failed: str = "") -> Iterator[None]:
    """The one place the billing provider's "unreachable" becomes the API's 503
    (``what_failed`` says what did not happen, before the provider's reason)."""
    try:
        yield
    except ProviderUnavailable as exc:
        raise BillingUnavailableError(f"{what_failed}{exc.message}") from None


def cancel_with_account(provider: BillingProvider) -> Callable[[Session, uuid.UUID], None]:
    """An account deletion step (:class:`~launchpad_web.accounts.services.AccountDeletion`):
    stop the provider charging the account before anything is deleted. If the provider
    cannot be reached, the deletion fails (503) and can be asked again."""
    def cancel(db: Session, user_id: uuid.UUID) -> None:
        running = db.scalars(sa.select(Subscription.stripe_subscription_id).where(
            Subscription.user_id == user_id,
            Subscription.stripe_subscription_id.is_not(None),
            Subscription.status != SubscriptionStatus.CANCELED)).all()
        for subscription_id in running:
            with provider_errors("the account was not deleted: "):
                provider.cancel_subscription(subscription_id)

    return cancel


class BillingService:
    def __init__(self, *, provider: BillingProvider, quotas: Quotas, public_url: str):
        self.provider = provider
        self.quotas = quotas
        self.public_url = public_url.rstrip("/")

    def overview(self, db: Session, user: UserView) -> SubscriptionView:
        now = self.quotas.clock()
        plan, sub = current_plan(db, user.id, now, self.quotas.past_due_grace)
        limits = self.quotas.limits(plan)  # every feature on when plans are not enforced
        period = Period.month_of(now)
        return SubscriptionView(
            plan=plan,
            status=sub.status if sub else SubscriptionStatus.ACTIVE,
            provider=self.provider.name,
            paid_plans_available=self.provider.paid_plans_available,
            current_period_end=sub.current_period_end if sub else None,
            cancel_at_period_end=sub.cancel_at_period_end if sub else False,
            period=PeriodView.of(period),
            limits=LimitsView.of(limits),
            usage=UsageView(private_templates=self.quotas.usage.private_templates(db, user.id),
                            generations=self.quotas.usage.personal_generations(
                                db, user.id, period)),
            teams=self._team_usage(db, user.id, period,
                                   limits.generations_per_month if limits.teams else 0),
        )

    def checkout(self, db: Session, user: UserView, plan: Plan) -> CheckoutView:
        if plan is Plan.FREE:
            raise ValidationFailedError.one("invalid_value", "choose a paid plan: pro or team",
                                            "$.plan")
        self._refuse_second_subscription(db, user.id)
        customer_id = self._customer_id(db, user.id)
        end_transaction(db)  # the provider may be slow: no lock is held across it
        with provider_errors():
            session = self.provider.create_checkout(
                plan=plan.value, client_reference_id=str(user.id), customer_email=user.email,
                customer_id=customer_id,
                success_url=f"{self.public_url}{BILLING_PAGE}?checkout=success",
                cancel_url=f"{self.public_url}{BILLING_PAGE}?checkout=canceled")
        return CheckoutView(id=session.id, url=session.url)

    def portal(self, db: Session, user: UserView) -> PortalView:
        customer_id = self._customer_id(db, user.id)
        if customer_id is None:
            raise NoBillingAccountError("subscribe to a paid plan first")
        end_transaction(db)  # the provider may be slow: no lock is held across it
        with provider_errors():
            url = self.provider.portal_url(customer_id=customer_id,
                                           return_url=self.public_url + BILLING_PAGE)
        return PortalView(url=url)

    @staticmethod
    def _refuse_second_subscription(db: Session, user_id: uuid.UUID) -> None:
        """One paid subscription at a time: plan changes and cancelling go through the
        portal; checkout again only once the last one is canceled or set to end."""
        running = db.scalar(sa.select(Subscription.id).where(
            Subscription.user_id == user_id, Subscription.plan != Plan.FREE,
            Subscription.status != SubscriptionStatus.CANCELED,
            Subscription.cancel_at_period_end.is_(False)).limit(1))
        if running is not None:
            raise AlreadySubscribedError("change or cancel your plan in the billing portal")

    @staticmethod
    def _customer_id(db: Session, user_id: uuid.UUID) -> str | None:
        return db.scalar(
            sa.select(Subscription.stripe_customer_id)
            .where(Subscription.user_id == user_id, Subscription.stripe_customer_id.is_not(None))
            .order_by(Subscription.start_date.desc()).limit(1))

    def _team_usage(self, db: Session, user_id: uuid.UUID, period: Period,
                    limit: int | None) -> list[TeamUsageView]:
        usage = self.quotas.usage
        return [TeamUsageView(team_id=team_id, name=name, limit=limit,
                              generations=usage.team_generations(db, team_id, period))
                for team_id, name in usage.owned_teams(db, user_id)]
