"""The billing API with the built-in free-only provider, and checkout/portal requests as
Stripe receives them (a local stand-in records them: localstripe has no Checkout)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import attrs
import pytest
import sqlalchemy as sa
from falcon import testing
from launchpad_stripe.provider import StripeProvider
from launchpad_stripe.testing import TEST_KEY, run_stand_in

from launchpad_web.billing.models import Plan, Subscription, SubscriptionStatus, WebhookEvent
from launchpad_web.billing.plans import PlanCatalog
from launchpad_web.billing.settings import BillingSettings
from launchpad_web.db import make_session_factory
from launchpad_web.errors import ConfigurationError
from launchpad_web.jobs.models import GenerationJob, JobStatus
from launchpad_web.settings import WebSettings
from launchpad_web.templates.models import TemplateRecord
from launchpad_worker.compose import service_app

from .conftest import BrowserClient

CHECKOUT_ANSWER = {"id": "cs_test_1", "object": "checkout.session",
                   "url": "https://checkout.stripe.com/c/pay/cs_test_1"}
PORTAL_ANSWER = {"id": "bps_1", "object": "billing_portal.session",
                 "url": "https://billing.stripe.com/p/session/bps_1"}


def stripe_billing(api_base, **changes):
    return BillingSettings(stripe_secret_key=TEST_KEY, stripe_webhook_secret="whsec_test",
                           stripe_prices={"pro": "price_pro"}, stripe_api_base=api_base,
                           **changes)


def test_a_new_user_is_on_free_with_its_limits_and_no_usage(client, signup):
    signup(client)
    result = client.get("/api/subscriptions")
    assert result.status_code == 200
    assert result.json == {
        "plan": "free", "status": "active", "provider": "free",
        "paid_plans_available": False, "current_period_end": None,
        "cancel_at_period_end": False,
        "period": {"start": "2030-01-01T00:00:00+00:00", "end": "2030-02-01T00:00:00+00:00"},
        "limits": {"private_templates": 3, "generations_per_month": 20, "teams": False},
        "usage": {"private_templates": 0, "generations": 0},
        "teams": [],
    }


def test_usage_counts_templates_and_this_months_jobs_that_did_not_fail(client, signup, db,
                                                                       clock):
    user_id = uuid.UUID(signup(client)["id"])
    with db.session() as session:
        session.add_all([TemplateRecord(name="a", definition={}, owner_id=user_id),
                         TemplateRecord(name="b", definition={}, owner_id=user_id)])
        for status, at in [(JobStatus.COMPLETED, clock.now), (JobStatus.PENDING, clock.now),
                           (JobStatus.FAILED, clock.now),
                           (JobStatus.COMPLETED, clock.now - timedelta(days=1))]:
            session.add(GenerationJob(user_id=user_id, status=status, created_at=at,
                                      updated_at=at))
        session.commit()
    assert client.get("/api/subscriptions").json["usage"] == {"private_templates": 2,
                                                              "generations": 2}


def test_a_paid_subscription_shows_its_plan_limits_and_period(client, signup, db, clock):
    user_id = uuid.UUID(signup(client)["id"])
    end = clock.now + timedelta(days=20)
    with db.session() as session:
        session.add(Subscription(user_id=user_id, plan=Plan.PRO, status=SubscriptionStatus.ACTIVE,
                                 stripe_customer_id="cus_1", stripe_subscription_id="sub_1",
                                 current_period_end=end, cancel_at_period_end=True))
        session.commit()
    body = client.get("/api/subscriptions").json
    assert (body["plan"], body["status"], body["cancel_at_period_end"]) == ("pro", "active", True)
    assert body["current_period_end"] == end.isoformat()
    assert body["limits"] == {"private_templates": None, "generations_per_month": 1000,
                              "teams": False}


def test_limits_follow_the_settings(make_app, new_client, signup):
    client = new_client(make_app(billing=BillingSettings(
        plans=PlanCatalog.parse("free.templates=7,free.generations=unlimited"),
        enforce_plans="yes")))
    signup(client)
    assert client.get("/api/subscriptions").json["limits"] == {
        "private_templates": 7, "generations_per_month": None, "teams": False}


def test_billing_needs_a_signed_in_user(client):
    for method, path in [("GET", "/api/subscriptions"), ("POST", "/api/subscriptions/checkout"),
                         ("POST", "/api/subscriptions/portal")]:
        result = client.request(method, path, json={"plan": "pro"})
        assert (result.status_code, result.json["code"]) == (401, "unauthenticated")


def test_without_stripe_the_free_provider_refuses_checkout_and_health_says_so(client, signup):
    assert client.get("/api/health").json["billing"] == {"provider": "free", "plans_enforced": True}
    signup(client)
    result = client.post("/api/subscriptions/checkout", json={"plan": "pro"})
    assert result.status_code == 503
    assert result.json["code"] == "billing_unavailable"
    assert "no billing provider" in result.json["detail"]


@pytest.mark.parametrize(("body", "code"), [
    ({"plan": "free"}, "invalid_value"),
    ({"plan": "gold"}, "invalid_value"),
    ({}, "missing_field"),
    ({"plan": "pro", "coupon": "x"}, "unknown_field"),
])
def test_checkout_refuses_a_bad_plan(client, signup, body, code):
    signup(client)
    result = client.post("/api/subscriptions/checkout", json=body)
    assert result.status_code == 422
    assert result.json["errors"][0]["code"] == code
    assert result.json["errors"][0]["field"].startswith(("$.plan", "$.coupon"))


def test_portal_without_a_paid_subscription_is_a_conflict(client, signup):
    signup(client)
    result = client.post("/api/subscriptions/portal")
    assert (result.status_code, result.json["code"]) == (409, "no_billing_account")


def test_webhooks_without_stripe_are_unavailable_and_change_nothing(app, db):
    result = testing.TestClient(app).simulate_post(
        "/api/webhooks/stripe", body=b'{"id": "evt_1"}', headers={"Stripe-Signature": "t=1,v1=x"})
    assert (result.status_code, result.json["code"]) == (503, "billing_unavailable")
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(WebhookEvent)) == 0


def test_checkout_sends_stripe_the_plan_the_user_and_where_to_return(make_app, new_client,
                                                                       signup):
    with run_stand_in({"/v1/checkout/sessions": CHECKOUT_ANSWER}) as stripe_api:
        client = new_client(make_app(billing=stripe_billing(stripe_api.url),
                                     public_url="https://launchpad.example"))
        assert client.get("/api/health").json["billing"] == {"provider": "stripe",
                                                             "plans_enforced": True}
        user = signup(client, "buyer@example.org")
        result = client.post("/api/subscriptions/checkout", json={"plan": "pro"})
    assert result.status_code == 201
    assert result.json == {"id": "cs_test_1", "url": CHECKOUT_ANSWER["url"]}
    [sent] = stripe_api.requests
    assert sent.path == "/v1/checkout/sessions"
    assert sent.headers["Authorization"] == f"Bearer {TEST_KEY}"
    assert sent.form == {
        "mode": ["subscription"],
        "line_items[0][price]": ["price_pro"],
        "line_items[0][quantity]": ["1"],
        "success_url": ["https://launchpad.example/billing?checkout=success"],
        "cancel_url": ["https://launchpad.example/billing?checkout=canceled"],
        "client_reference_id": [user["id"]],
        "customer_email": ["buyer@example.org"],
        "metadata[launchpad_user_id]": [user["id"]],
        "metadata[plan]": ["pro"],
        "subscription_data[metadata][launchpad_user_id]": [user["id"]],
    }


def test_checkout_reuses_the_stripe_customer_and_refuses_a_plan_without_a_price(
        make_app, new_client, signup, db):
    with run_stand_in({"/v1/checkout/sessions": CHECKOUT_ANSWER}) as stripe_api:
        client = new_client(make_app(billing=stripe_billing(stripe_api.url)))
        user_id = uuid.UUID(signup(client)["id"])
        with db.session() as session:
            session.add(Subscription(user_id=user_id, plan=Plan.PRO,
                                     status=SubscriptionStatus.CANCELED,
                                     stripe_customer_id="cus_old",
                                     start_date=datetime(2029, 1, 1, tzinfo=UTC)))
            session.commit()
        assert client.post("/api/subscriptions/checkout", json={"plan": "pro"}).status_code == 201
        team = client.post("/api/subscriptions/checkout", json={"plan": "team"})
    assert (team.status_code, team.json["code"]) == (503, "billing_unavailable")
    assert "team plan has no Stripe price" in team.json["detail"]
    [sent] = stripe_api.requests
    assert sent.form["customer"] == ["cus_old"] and "customer_email" not in sent.form


def test_the_portal_is_opened_for_the_users_stripe_customer(make_app, new_client, signup, db):
    with run_stand_in({"/v1/billing_portal/sessions": PORTAL_ANSWER}) as stripe_api:
        client = new_client(make_app(billing=stripe_billing(stripe_api.url),
                                     public_url="https://launchpad.example"))
        user_id = uuid.UUID(signup(client)["id"])
        with db.session() as session:
            session.add(Subscription(user_id=user_id, plan=Plan.PRO,
                                     stripe_customer_id="cus_42", stripe_subscription_id="sub_42"))
            session.commit()
        result = client.post("/api/subscriptions/portal")
    assert (result.status_code, result.json) == (200, {"url": PORTAL_ANSWER["url"]})
    [sent] = stripe_api.requests
    assert sent.form == {"customer": ["cus_42"],
                         "return_url": ["https://launchpad.example/billing"]}


def test_stripe_refusing_checkout_is_a_clear_503(make_app, new_client, signup):
    with run_stand_in({}) as stripe_api:  # every path answers 404
        client = new_client(make_app(billing=stripe_billing(stripe_api.url)))
        signup(client)
        result = client.post("/api/subscriptions/checkout", json={"plan": "pro"})
    assert (result.status_code, result.json["code"]) == (503, "billing_unavailable")
    assert "Stripe did not answer" in result.json["detail"]


def test_billing_settings_come_from_the_environment(tmp_path):
    settings = WebSettings.from_env({
        "LAUNCHPAD_DATA_DIR": str(tmp_path),
        "LAUNCHPAD_PLAN_LIMITS": "free.templates=5",
        "LAUNCHPAD_PAST_DUE_GRACE_DAYS": "3",
        "LAUNCHPAD_STRIPE_SECRET_KEY": "sk_test_x",
        "LAUNCHPAD_STRIPE_WEBHOOK_SECRET": "whsec_x",
        "LAUNCHPAD_STRIPE_PRICE_PRO": "price_pro",
        "LAUNCHPAD_STRIPE_API_BASE": "http://127.0.0.1:8420",
    }).billing
    assert settings.plans[Plan.FREE].private_templates == 5
    assert settings.past_due_grace == timedelta(days=3)
    assert settings.provider_settings() == {
        "provider": "stripe", "secret_key": "sk_test_x", "webhook_secret": "whsec_x",
        "prices": {"pro": "price_pro"}, "api_base": "http://127.0.0.1:8420"}
    assert "sk_test_x" not in repr(settings) and "whsec_x" not in repr(settings)
    assert WebSettings.from_env({"LAUNCHPAD_DATA_DIR": str(tmp_path)}
                                ).billing.provider_settings() == {}


@pytest.mark.parametrize(("name", "value"), [("LAUNCHPAD_PLAN_LIMITS", "free.templates=many"),
                                             ("LAUNCHPAD_PAST_DUE_GRACE_DAYS", "soon")])
def test_bad_billing_settings_are_refused_by_name(tmp_path, name, value):
    with pytest.raises(ConfigurationError, match=name):
        WebSettings.from_env({"LAUNCHPAD_DATA_DIR": str(tmp_path), name: value})


def test_a_second_paid_subscription_is_refused_until_the_first_ends(make_app, new_client,
                                                                     signup, db):
    with run_stand_in({"/v1/checkout/sessions": CHECKOUT_ANSWER}) as stripe_api:
        client = new_client(make_app(billing=stripe_billing(stripe_api.url)))
        user_id = uuid.UUID(signup(client)["id"])
        with db.session() as session:
            running = Subscription(user_id=user_id, plan=Plan.PRO,
                                   status=SubscriptionStatus.PAST_DUE,
                                   stripe_customer_id="cus_7", stripe_subscription_id="sub_7")
            session.add(running)
            session.commit()
            refused = client.post("/api/subscriptions/checkout", json={"plan": "pro"})
            running.cancel_at_period_end = True
            session.commit()
        allowed = client.post("/api/subscriptions/checkout", json={"plan": "pro"})
    assert (refused.status_code, refused.json["code"]) == (409, "already_subscribed")
    assert allowed.status_code == 201 and len(stripe_api.requests) == 1


def test_no_database_connection_is_held_while_stripe_answers(committing_engine, settings,
                                                              signup, monkeypatch):
    """Stripe may be slow: checkout asks it with no transaction open (on SQLite, the write
    lock every other request waits for)."""
    held: list[int] = []
    create = StripeProvider.create_checkout

    def watched(self: StripeProvider, **kwargs: object) -> object:
        held.append(committing_engine.pool.checkedout())
        return create(self, **kwargs)

    monkeypatch.setattr(StripeProvider, "create_checkout", watched)
    with run_stand_in({"/v1/checkout/sessions": CHECKOUT_ANSWER}) as stripe_api:
        app = service_app(attrs.evolve(settings, billing=stripe_billing(stripe_api.url)),
                          session_factory=make_session_factory(committing_engine))
        client = BrowserClient(app)
        signup(client)
        result = client.post("/api/subscriptions/checkout", json={"plan": "pro"})
    assert result.status_code == 201, result.text
    assert held == [0]
