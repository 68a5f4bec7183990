"""``StripeProvider``: Checkout, the customer portal, verified events and subscription state.

Settings (from the service's ``BillingSettings.provider_settings()``):
``secret_key``, ``webhook_secret``, ``prices`` (plan name to a Stripe price id;
a legacy plan id works too, Stripe accepts one wherever a price is asked) and
``api_base`` (another API origin, e.g. localstripe). The provider uses its own
``stripe.StripeClient``, never the library's global configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import stripe
from launchpad_core import LaunchpadError
from launchpad_core.model import strict_json
from launchpad_core.plugins.billing import (
    BillingEvent,
    BillingUnavailableError,
    CheckoutSession,
    InvalidEventError,
    InvalidWebhookError,
    SubscriptionState,
)

SIGNATURE_TOLERANCE_SECONDS = 300
USER_REF_KEY = "launchpad_user_id"

STATUSES = {
    "active": "active",
    "trialing": "active",
    "past_due": "past_due",
    "unpaid": "past_due",
    "canceled": "canceled",
    "incomplete_expired": "canceled",
    "incomplete": "incomplete",
    "paused": "incomplete",
}


@attrs.frozen
class StripeProvider:
    client: stripe.StripeClient = attrs.field(repr=False)
    webhook_secret: str | None = attrs.field(repr=False)
    prices: Mapping[str, str]
    name: str = "stripe"

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> StripeProvider:
        api_base = settings.get("api_base")
        client = stripe.StripeClient(
            settings["secret_key"],
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=2,
        )
        return cls(client=client, webhook_secret=settings.get("webhook_secret"),
                   prices=dict(settings.get("prices") or {}))

    @property
    def paid_plans_available(self) -> bool:
        return bool(self.prices)

    def create_checkout(
        self, *, plan: str, client_reference_id: str, customer_email: str,
        customer_id: str | None, success_url: str, cancel_url: str,
    ) -> CheckoutSession:
        price = self.prices.get(plan)
        if price is None:
            raise BillingUnavailableError(f"the {plan} plan has no Stripe price configured")
        params: dict[str, Any] = {
            "mode": "subscription",
            "line_items": [{"price": price, "quantity": 1}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": client_reference_id,
            "metadata": {USER_REF_KEY: client_reference_id, "plan": plan},
            "subscription_data": {"metadata": {USER_REF_KEY: client_reference_id}},
        }
        if customer_id:
            params["customer"] = customer_id
        else:
            params["customer_email"] = customer_email
        session = self._call(self.client.v1.checkout.sessions.create, params=params)
        return CheckoutSession(id=session.id, url=session.url)

    def portal_url(self, *, customer_id: str, return_url: str) -> str:
        params = {"customer": customer_id, "return_url": return_url}
        return self._call(self.client.v1.billing_portal.sessions.create, params=params).url

    def parse_event(self, *, payload: bytes, signature: str | None) -> BillingEvent:
        if not self.webhook_secret:
            raise BillingUnavailableError("no webhook signing secret is configured")
        if not signature:
            raise InvalidWebhookError("the Stripe-Signature header is missing")
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, self.webhook_secret, tolerance=SIGNATURE_TOLERANCE_SECONDS)
        except stripe.SignatureVerificationError as exc:
            raise InvalidWebhookError(f"the signature does not verify: {exc.user_message}"
                                      ) from None
        except UnicodeDecodeError:
            raise InvalidWebhookError("the payload is not UTF-8") from None
        try:
            data = strict_json.loads(payload)
        except LaunchpadError as exc:
            raise InvalidEventError(f"the payload is not a JSON event: {exc}") from None
        return event_of(data)

    def get_subscription(self, subscription_id: str) -> SubscriptionState:
        sub = self._call(self.client.v1.subscriptions.retrieve, subscription_id).to_dict()
        return subscription_state(sub, {price: plan for plan, price in self.prices.items()})

    def cancel_subscription(self, subscription_id: str) -> None:
        try:
            self.client.v1.subscriptions.cancel(subscription_id)
        except stripe.InvalidRequestError as exc:
            if exc.code != "resource_missing" and exc.http_status != 404:
                raise BillingUnavailableError(
                    f"Stripe did not cancel {subscription_id}: {exc.user_message or exc}"
                ) from None
        except stripe.StripeError as exc:
            raise BillingUnavailableError(
                f"Stripe did not cancel {subscription_id}: "
                f"{exc.user_message or exc.__class__.__name__}"
            ) from None

    @staticmethod
    def _call(method: Any, *args: Any, **kwargs: Any) -> Any:
        """Stripe's answer, or BillingUnavailableError naming what Stripe said."""
        try:
            return method(*args, **kwargs)
        except stripe.StripeError as exc:
            raise BillingUnavailableError(
                f"Stripe did not answer as expected: {exc.user_message or exc.__class__.__name__}"
            ) from exc


EVENT_FIELD_MAX = 255  # webhook_events.event_id and .type


def event_of(data: Any) -> BillingEvent:
    """A verified event's JSON as a :class:`BillingEvent`; :class:`InvalidEventError`
    naming the first field that is missing or of the wrong type."""
    if not isinstance(data, dict):
        raise InvalidEventError("an event is a JSON object")
    for name in ("id", "type"):
        value = data.get(name)
        if not (isinstance(value, str) and 1 <= len(value) <= EVENT_FIELD_MAX):
            raise InvalidEventError(
                f"the event's {name} must be a string of 1 to {EVENT_FIELD_MAX} characters")
    envelope = data.get("data", {})
    obj = envelope.get("object", {}) if isinstance(envelope, dict) else None
    if not isinstance(obj, dict):
        raise InvalidEventError("the event's data.object must be an object")
    try:
        subscription_id, user_ref = subscription_of(data["type"], obj), user_ref_of(obj)
    except AttributeError:
        raise InvalidEventError("the event's object has fields of the wrong type") from None
    for name, value in (("subscription", subscription_id), ("user reference", user_ref)):
        if value is not None and not (isinstance(value, str) and len(value) <= EVENT_FIELD_MAX):
            raise InvalidEventError(f"the event's {name} must be a string id")
    return BillingEvent(id=data["id"], type=data["type"], subscription_id=subscription_id,
                        user_ref=user_ref)


def subscription_of(event_type: str, obj: Mapping[str, Any]) -> str | None:
    """The subscription an event's object concerns (None for other events)."""
    if event_type.startswith("customer.subscription."):
        return obj.get("id")
    if event_type == "checkout.session.completed":
        return _id(obj.get("subscription"))
    if event_type.startswith("invoice."):
        parent = (obj.get("parent") or {}).get("subscription_details") or {}
        return _id(obj.get("subscription") or parent.get("subscription"))
    return None


def user_ref_of(obj: Mapping[str, Any]) -> str | None:
    metadata = obj.get("metadata") or {}
    return obj.get("client_reference_id") or metadata.get(USER_REF_KEY)


def subscription_state(sub: Mapping[str, Any], plans: Mapping[str, str]) -> SubscriptionState:
    """A Stripe subscription as a provider-neutral state; ``plans`` maps price id to plan.

    Periods are read from the subscription, or from its first item (where API
    versions since 2025 keep them).
    """
    item = sub["items"]["data"][0]
    price = _id(item.get("price")) or _id(item.get("plan"))
    return SubscriptionState(
        id=sub["id"],
        customer_id=_id(sub["customer"]) or "",
        status=STATUSES.get(sub["status"], "incomplete"),
        plan=plans.get(price or ""),
        user_ref=(sub.get("metadata") or {}).get(USER_REF_KEY),
        start=_time(sub.get("start_date") or sub["created"]) or datetime.now(UTC),
        current_period_start=_time(sub.get("current_period_start")
                                   or item.get("current_period_start")),
        current_period_end=_time(sub.get("current_period_end")
                                 or item.get("current_period_end")),
        cancel_at_period_end=bool(sub.get("cancel_at_period_end")),
        ended_at=_time(sub.get("ended_at")),
    )


def _id(value: Any) -> str | None:
    """An id whether Stripe sent it bare or as an expanded object."""
    if isinstance(value, Mapping):
        return value.get("id")
    return value


def _time(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None
