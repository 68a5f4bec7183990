"""Billing providers: the interface, and the built-in free-only provider.

The hosted service asks the ``launchpad_billing_provider`` hook for one
provider; the Stripe provider is a first-party plugin. Without one, this
module's free-only provider answers (the default plugin
:mod:`launchpad_core.plugins.default_billing`), and paid plans are unavailable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import attrs

from ..errors import LaunchpadError


class BillingUnavailableError(LaunchpadError):
    """Paid plans cannot be bought on this installation."""

    code = "billing_unavailable"


class InvalidWebhookError(LaunchpadError):
    """A webhook request is unsigned, tampered with or too old: nothing may be done with it."""

    code = "invalid_signature"


class InvalidEventError(LaunchpadError):
    """A correctly signed event that is not of an event's shape (no ``id`` or ``type``,
    fields of the wrong type, JSON nothing here can hold): nothing is done with it."""

    code = "invalid_event"


@attrs.frozen
class BillingEvent:
    """A verified provider event, reduced to what the service acts on.

    ``subscription_id`` is the provider subscription the event concerns (None
    when it concerns none); ``user_ref`` is the reference the service gave at
    checkout (the user id), when the event carries it.
    """

    id: str
    type: str
    subscription_id: str | None = None
    user_ref: str | None = None


@attrs.frozen
class SubscriptionState:
    """A subscription as the provider holds it now (not as some event described it).

    ``status`` is ``active``, ``past_due``, ``canceled`` or ``incomplete`` (not
    paid yet); ``plan`` is ``pro`` or ``team``, None for a price the service does
    not sell.
    """

    id: str
    customer_id: str
    status: str
    plan: str | None
    user_ref: str | None
    start: datetime
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool = False
    ended_at: datetime | None = None


@attrs.frozen
class CheckoutSession:
    """Where to send a person to pay for a plan."""

    id: str
    url: str


class BillingProvider(Protocol):
    """What the service needs from a payment provider."""

    name: str

    @property
    def paid_plans_available(self) -> bool: ...

    def create_checkout(
        self, *, plan: str, client_reference_id: str, customer_email: str,
        customer_id: str | None, success_url: str, cancel_url: str,
    ) -> CheckoutSession: ...

    def portal_url(self, *, customer_id: str, return_url: str) -> str: ...

    def parse_event(self, *, payload: bytes, signature: str | None) -> BillingEvent:
        """Verify ``signature`` over the raw ``payload``; :class:`InvalidWebhookError` if bad."""
        ...

    def get_subscription(self, subscription_id: str) -> SubscriptionState: ...

    def cancel_subscription(self, subscription_id: str) -> None:
        """End the subscription now (its account is being deleted); one already gone is fine."""
        ...


@attrs.frozen
class FreeOnlyProvider:
    """Every account stays on the Free plan; checkout answers a clear error."""

    name: str = "free"

    @property
    def paid_plans_available(self) -> bool:
        return False

    def create_checkout(self, **_kwargs: Any) -> CheckoutSession:
        raise BillingUnavailableError("paid plans are not available: no billing provider is set up")

    def portal_url(self, **_kwargs: Any) -> str:
        raise BillingUnavailableError("there is no billing portal: no billing provider is set up")

    def parse_event(self, **_kwargs: Any) -> BillingEvent:
        raise BillingUnavailableError("no billing provider is set up to send events")

    def get_subscription(self, subscription_id: str) -> SubscriptionState:
        raise BillingUnavailableError("no billing provider is set up")

    def cancel_subscription(self, subscription_id: str) -> None:
        raise BillingUnavailableError(
            f"the paid subscription {subscription_id} cannot be cancelled: no billing provider "
            "is set up"
        )
