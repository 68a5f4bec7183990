"""Settings of plans and billing: part of :class:`~launchpad_web.settings.WebSettings`.

:meth:`BillingSettings.from_env` is called by ``WebSettings.from_env`` with its
reader of the environment (the variables are listed in ``settings.py``'s table);
nothing here reads the process environment. Without ``LAUNCHPAD_STRIPE_SECRET_KEY`` the
built-in free-only provider answers.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

import attrs

from .plans import PlanCatalog


class EnvReader(Protocol):
    def text(self, name: str) -> str | None: ...

    def integer(self, name: str, default: int, *, minimum: int = 0,
                maximum: int | None = None) -> int: ...


@attrs.frozen
class BillingSettings:
    """Plan limits, the grace of an unpaid subscription, and the Stripe account.

    ``stripe_prices`` maps a paid plan (``pro``, ``team``) to the Stripe price or
    plan id sold for it; ``stripe_api_base`` points the library elsewhere than
    api.stripe.com (localstripe in tests).
    """

    plans: PlanCatalog = attrs.field(factory=PlanCatalog)
    past_due_grace: timedelta = timedelta(days=7)
    stripe_secret_key: str | None = attrs.field(default=None, repr=False)
    stripe_webhook_secret: str | None = attrs.field(default=None, repr=False)
    stripe_prices: dict[str, str] = attrs.field(factory=dict)
    stripe_api_base: str | None = None
    #: ``auto``: plans apply when a billing provider runs (a self-hosted service without
    #: one has every feature on); ``yes`` or ``no`` decide it whatever the provider.
    enforce_plans: str = attrs.field(default="auto",
                                     validator=attrs.validators.in_(("auto", "yes", "no")))

    def plans_enforced(self, provider_name: str) -> bool:
        return self.enforce_plans == "yes" or (
            self.enforce_plans == "auto" and provider_name != "free")

    @classmethod
    def from_env(cls, env: EnvReader) -> BillingSettings:
        prices = {plan: env.text(f"LAUNCHPAD_STRIPE_PRICE_{plan.upper()}") for plan in
                  ("pro", "team")}
        return cls(
            plans=PlanCatalog.parse(env.text("LAUNCHPAD_PLAN_LIMITS")),
            past_due_grace=timedelta(days=env.integer("LAUNCHPAD_PAST_DUE_GRACE_DAYS", 7)),
            stripe_secret_key=env.text("LAUNCHPAD_STRIPE_SECRET_KEY"),
            stripe_webhook_secret=env.text("LAUNCHPAD_STRIPE_WEBHOOK_SECRET"),
            stripe_prices={plan: price for plan, price in prices.items() if price},
            stripe_api_base=env.text("LAUNCHPAD_STRIPE_API_BASE"),
            enforce_plans=(env.text("LAUNCHPAD_ENFORCE_PLANS") or "auto").lower(),
        )

    def provider_settings(self) -> dict[str, Any]:
        """Plain data for the ``launchpad_billing_provider`` hook's ``settings``:
        ``provider`` is ``stripe`` when a secret key is set, else absent."""
        if not self.stripe_secret_key:
            return {}
        return {
            "provider": "stripe",
            "secret_key": self.stripe_secret_key,
            "webhook_secret": self.stripe_webhook_secret,
            "prices": dict(self.stripe_prices),
            "api_base": self.stripe_api_base,
        }
