"""Billing providers: the interface, and the built-in free-only provider.

The hosted service asks the ``launchpad_billing_provider`` hook for one
provider; the Stripe provider is a first-party plugin. Without one, this
module's free-only provider answers, and paid plans are unavailable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import attrs

from .errors import LaunchpadError
from .hookspecs import hookimpl


class BillingUnavailableError(LaunchpadError):
    """Paid plans cannot be bought on this installation."""

    code = "billing_unavailable"


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
        self, *, plan: str, customer_email: str, customer_id: str | None,
        success_url: str, cancel_url: str,
    ) -> CheckoutSession: ...

    def portal_url(self, *, customer_id: str, return_url: str) -> str: ...


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


@hookimpl(trylast=True)
def launchpad_billing_provider(settings: Mapping[str, Any]) -> BillingProvider:
    return FreeOnlyProvider()
