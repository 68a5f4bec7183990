"""Payment-provider webhooks: verify, record once, re-read, apply.

1. The provider verifies the signature over the raw body (Stripe: HMAC-SHA256,
   300 s tolerance); anything unsigned, tampered with or stale is a 400 and
   changes nothing. A signed event without ``id`` or ``type``, with fields of the
   wrong type or JSON nothing here can hold is a 400 ``invalid_event``.
2. The event id is inserted into ``webhook_events`` (unique per provider): a
   second delivery -- also a concurrent one, which waits on the first's
   uncommitted row and then fails the unique constraint -- is a ``duplicate``.
3. The subscription the event concerns is read again from the provider, so
   events arriving out of order all leave the latest state; the event body is
   never trusted for state.
4. The row in ``subscriptions`` and the user's role follow that state. The
   re-read happens while holding the owner's row lock (as the quotas take it),
   so of two events handled at once the later read is the one that stays.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from launchpad_core.plugins.billing import BillingEvent, BillingProvider, InvalidWebhookError
from launchpad_core.plugins.billing import InvalidEventError as CoreInvalidEventError
from launchpad_core.plugins.billing import SubscriptionState as ProviderState

from ..accounts.models import User
from ..clock import Clock
from ..errors import InvalidEventError, InvalidSignatureError
from .current_plan import current_plan, sync_role
from .models import Plan, Subscription, SubscriptionStatus, WebhookEvent
from .services import provider_errors

log = logging.getLogger("launchpad_web.billing")

HANDLED = frozenset({
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
})

STATUSES = {
    "active": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "canceled": SubscriptionStatus.CANCELED,
}


class WebhookProcessor:
    def __init__(self, *, provider: BillingProvider, clock: Clock, past_due_grace: timedelta):
        self.provider = provider
        self.clock = clock
        self.past_due_grace = past_due_grace

    def handle(self, db: Session, *, payload: bytes, signature: str | None) -> str:
        """``processed``, ``duplicate`` or ``ignored``."""
        with provider_errors():
            try:
                event = self.provider.parse_event(payload=payload, signature=signature)
            except InvalidWebhookError as exc:
                raise InvalidSignatureError(exc.message) from None
            except CoreInvalidEventError as exc:
                raise InvalidEventError(exc.message) from None
            if not self._record(db, event):
                return "duplicate"
            if event.type not in HANDLED or event.subscription_id is None:
                return "ignored"
            synced = self.sync(db, event.subscription_id, user_ref=event.user_ref)
        return "processed" if synced else "ignored"

    def _record(self, db: Session, event: BillingEvent) -> bool:
        try:
            with db.begin_nested():
                db.add(WebhookEvent(provider=self.provider.name, event_id=event.id,
                                    type=event.type, received_at=self.clock()))
        except IntegrityError:
            return False
        return True

    def sync(self, db: Session, subscription_id: str, *, user_ref: str | None = None) -> bool:
        """Read the subscription from the provider while holding its owner's row lock, and
        apply it: of two events processed at once, the later read is the one kept."""
        user_id = _owner(db, subscription_id, user_ref)
        if user_id is None:  # a new subscription the event does not say the owner of
            user_ref = self.provider.get_subscription(subscription_id).user_ref
            user_id = _owner(db, subscription_id, user_ref)
        if user_id is None:
            log.warning("subscription %s belongs to no known user", subscription_id)
            return False
        db.execute(sa.select(User.id).where(User.id == user_id).with_for_update())
        return self.apply(db, self.provider.get_subscription(subscription_id), user_id=user_id)

    def apply(self, db: Session, state: ProviderState, *, user_id: uuid.UUID) -> bool:
        """Make ``user_id``'s subscription row and role follow ``state`` (call it holding
        the user's row lock); False for a state that is not a plan sold here."""
        row = db.scalar(sa.select(Subscription).where(
            Subscription.stripe_subscription_id == state.id))
        if row is None:
            if state.plan is None or state.status not in STATUSES:
                return False
            row = Subscription(user_id=user_id, stripe_subscription_id=state.id)
            db.add(row)
        self._copy(row, state)
        db.flush()
        now = self.clock()
        sync_role(db, user_id, current_plan(db, user_id, now, self.past_due_grace)[0])
        return True

    def _copy(self, row: Subscription, state: ProviderState) -> None:
        status = STATUSES.get(state.status, row.status)  # incomplete: unchanged
        if status is SubscriptionStatus.PAST_DUE and row.status is not status:
            row.past_due_since = self.clock()
        elif status is not SubscriptionStatus.PAST_DUE:
            row.past_due_since = None
        row.status = status
        row.plan = Plan(state.plan) if state.plan else row.plan
        row.stripe_customer_id = state.customer_id
        row.start_date = state.start
        row.current_period_start = state.current_period_start
        row.current_period_end = state.current_period_end
        row.cancel_at_period_end = state.cancel_at_period_end
        row.end_date = state.ended_at


def _owner(db: Session, subscription_id: str, user_ref: str | None) -> uuid.UUID | None:
    """The user of the known subscription, else the existing user ``user_ref`` names."""
    owner = db.scalar(sa.select(Subscription.user_id).where(
        Subscription.stripe_subscription_id == subscription_id))
    if owner is not None:
        return owner
    try:
        user_id = uuid.UUID(user_ref or "")
    except ValueError:
        return None
    return user_id if db.get(User, user_id) is not None else None
