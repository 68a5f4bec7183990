"""The Stripe provider against localstripe (subscriptions) and a recording stand-in
(Checkout and the portal, which localstripe lacks)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from launchpad_core.plugins.billing import (
    BillingUnavailableError,
    InvalidEventError,
    InvalidWebhookError,
)
from launchpad_core.testing import launchpad_with

from launchpad_stripe import plugin
from launchpad_stripe.provider import StripeProvider, subscription_of
from launchpad_stripe.testing import TEST_KEY, run_localstripe, run_stand_in, sign

SECRET = "whsec_provider_test"


@pytest.fixture(scope="module")
def localstripe():
    with run_localstripe() as running:
        yield running


@pytest.fixture(scope="module")
def plans(localstripe):
    return localstripe.product_plans()


@pytest.fixture
def provider(localstripe, plans):
    return StripeProvider.from_settings({"provider": "stripe", "secret_key": TEST_KEY,
                                         "webhook_secret": SECRET, "prices": plans,
                                         "api_base": localstripe.url})


def test_the_plugin_answers_only_for_stripe_settings():
    hooks = launchpad_with(plugin).hooks
    assert hooks.billing_provider(settings={}).name == "free"
    chosen = hooks.billing_provider(settings={"provider": "stripe", "secret_key": TEST_KEY,
                                              "prices": {"pro": "price_1"}})
    assert isinstance(chosen, StripeProvider) and chosen.paid_plans_available
    assert "sk_test" not in repr(chosen)


def test_a_subscription_is_read_as_its_current_state(provider, localstripe, plans):
    sub = localstripe.subscribe(plans["team"], user_ref="user-7")
    state = provider.get_subscription(sub["id"])
    assert (state.id, state.customer_id, state.status, state.plan, state.user_ref) == (
        sub["id"], sub["customer"], "active", "team", "user-7")
    assert state.current_period_end == datetime.fromtimestamp(sub["current_period_end"], UTC)
    assert state.current_period_start < state.current_period_end
    assert not state.cancel_at_period_end and state.ended_at is None


def test_a_canceled_subscription_reads_canceled_with_its_end(provider, localstripe, plans):
    sub = localstripe.subscribe(plans["pro"], user_ref="user-8")
    localstripe.client().v1.subscriptions.update(sub["id"], params={"cancel_at_period_end": True})
    assert provider.get_subscription(sub["id"]).cancel_at_period_end
    localstripe.client().v1.subscriptions.cancel(sub["id"])
    state = provider.get_subscription(sub["id"])
    assert (state.status, state.plan) == ("canceled", "pro") and state.ended_at is not None


def test_a_price_not_sold_here_has_no_plan(provider, localstripe):
    other = localstripe.paid_plan(100)
    assert provider.get_subscription(
        localstripe.subscribe(other, user_ref="u")["id"]).plan is None


def test_an_unknown_subscription_is_a_billing_error(provider):
    with pytest.raises(BillingUnavailableError, match="Stripe did not answer"):
        provider.get_subscription("sub_missing")


def payload(event_type="customer.subscription.updated", obj=None):
    return json.dumps({"id": "evt_1", "object": "event", "type": event_type,
                       "created": int(time.time()),
                       "data": {"object": obj or {"id": "sub_1", "object": "subscription",
                                                  "metadata": {"launchpad_user_id": "u1"}}}}
                      ).encode()


def test_a_signed_event_is_parsed(provider):
    body = payload()
    event = provider.parse_event(payload=body, signature=sign(body, SECRET))
    assert (event.id, event.type, event.subscription_id, event.user_ref) == (
        "evt_1", "customer.subscription.updated", "sub_1", "u1")


# Built when the test runs (not at collection: ids must not depend on the clock).
FORGERIES = {
    "wrong secret": lambda: (payload(), sign(payload(), "whsec_other")),
    "changed byte": lambda: (payload().replace(b"u1", b"u2"), sign(payload(), SECRET)),
    "old timestamp": lambda: (payload(), sign(payload(), SECRET, int(time.time()) - 301)),
    "unsigned": lambda: (payload(), None),
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_bad_signatures_are_refused(provider, forge):
    body, signature = forge()
    with pytest.raises(InvalidWebhookError) as caught:
        provider.parse_event(payload=body, signature=signature)
    assert caught.value.code == "invalid_signature"


@pytest.mark.parametrize("body", [b"not json", b'{"type": "invoice.paid"}',
                                  b'{"id": "evt_1", "type": 3}', b'{"id": "evt_1", "type": NaN}',
                                  b'{"id": "evt_1", "type": "x", "data": {"object": "sub"}}'])
def test_signed_payloads_that_are_not_events_are_refused(provider, body):
    with pytest.raises(InvalidEventError) as caught:
        provider.parse_event(payload=body, signature=sign(body, SECRET))
    assert caught.value.code == "invalid_event"


def test_without_a_webhook_secret_events_cannot_be_checked():
    provider = StripeProvider.from_settings({"secret_key": TEST_KEY})
    with pytest.raises(BillingUnavailableError, match="no webhook signing secret"):
        provider.parse_event(payload=payload(), signature="t=1,v1=00")


@pytest.mark.parametrize(("event_type", "obj", "expected"), [
    ("customer.subscription.deleted", {"id": "sub_a"}, "sub_a"),
    ("checkout.session.completed", {"id": "cs_1", "subscription": "sub_b"}, "sub_b"),
    ("checkout.session.completed", {"id": "cs_1", "subscription": {"id": "sub_c"}}, "sub_c"),
    ("invoice.paid", {"id": "in_1", "subscription": "sub_d"}, "sub_d"),
    ("invoice.payment_failed", {"id": "in_1", "parent": {
        "subscription_details": {"subscription": "sub_e"}}}, "sub_e"),
    ("customer.created", {"id": "cus_1"}, None),
])
def test_events_name_their_subscription(event_type, obj, expected):
    assert subscription_of(event_type, obj) == expected


def test_checkout_with_an_existing_customer(localstripe):
    answer = {"id": "cs_9", "object": "checkout.session", "url": "https://pay.example/cs_9"}
    with run_stand_in({"/v1/checkout/sessions": answer}) as stand_in:
        provider = StripeProvider.from_settings({
            "secret_key": TEST_KEY, "prices": {"team": "price_team"}, "api_base": stand_in.url})
        session = provider.create_checkout(
            plan="team", client_reference_id="u9", customer_email="x@example.org",
            customer_id="cus_9", success_url="https://s", cancel_url="https://c")
        with pytest.raises(BillingUnavailableError, match="pro plan has no Stripe price"):
            provider.create_checkout(plan="pro", client_reference_id="u9",
                                     customer_email="x@example.org", customer_id=None,
                                     success_url="https://s", cancel_url="https://c")
    assert (session.id, session.url) == ("cs_9", "https://pay.example/cs_9")
    [sent] = stand_in.requests
    assert sent.form["customer"] == ["cus_9"] and "customer_email" not in sent.form
    assert sent.form["line_items[0][price]"] == ["price_team"]
    assert sent.form["mode"] == ["subscription"]
