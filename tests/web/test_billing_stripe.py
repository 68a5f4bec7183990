"""Stripe webhooks against localstripe: signatures, events applied once and in any order,
and localstripe's own deliveries to a served app, end to end."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import attrs
import pytest
import sqlalchemy as sa
from falcon import testing
from launchpad_stripe.testing import TEST_KEY, run_localstripe, sign

from launchpad_core.plugins.billing import SubscriptionState
from launchpad_web.accounts.models import User, UserRole
from launchpad_web.billing.models import Plan, Subscription, SubscriptionStatus, WebhookEvent
from launchpad_web.billing.settings import BillingSettings
from launchpad_web.billing.webhooks import WebhookProcessor
from launchpad_web.db import make_session_factory
from launchpad_worker.compose import service_app

from .conftest import PASSWORD

SECRET = "whsec_launchpad_test"
WEBHOOK = "/api/webhooks/stripe"


@pytest.fixture(scope="module")
def localstripe():
    with run_localstripe() as running:
        yield running


@pytest.fixture(scope="module")
def plans(localstripe):
    return localstripe.product_plans()


@pytest.fixture
def billing(localstripe, plans):
    return BillingSettings(stripe_secret_key=TEST_KEY, stripe_webhook_secret=SECRET,
                           stripe_prices=plans, stripe_api_base=localstripe.url)


@pytest.fixture
def stripe_app(make_app, billing, clock):
    clock.now = datetime.now(UTC)  # localstripe's periods are in real time
    return make_app(billing=billing)


@pytest.fixture
def user_id(db):
    with db.session() as session:
        user = User(email=f"{uuid.uuid4().hex[:8]}@example.org", hashed_password="x")
        session.add(user)
        session.commit()
        return user.id


@pytest.fixture
def pro_subscription(localstripe, plans, user_id):
    return localstripe.subscribe(plans["pro"], user_ref=str(user_id))


@pytest.fixture
def team_subscription(localstripe, plans, user_id):
    return localstripe.subscribe(plans["team"], user_ref=str(user_id))


def event(event_type, obj, event_id=None):
    return json.dumps({"id": event_id or f"evt_{uuid.uuid4().hex}", "object": "event",
                       "type": event_type, "created": int(time.time()), "livemode": False,
                       "data": {"object": obj}}).encode()


def post(app, payload, signature=None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return testing.TestClient(app).simulate_post(WEBHOOK, body=payload, headers=headers)


def deliver(app, payload):
    return post(app, payload, sign(payload, SECRET))


def stored(db):
    with db.session() as session:
        subs = session.scalars(sa.select(Subscription)).all()
        events = session.scalar(sa.select(sa.func.count()).select_from(WebhookEvent))
        return subs, events


def role_of(db, user_id):
    with db.session() as session:
        return session.get(User, user_id).role


# -- signatures -----------------------------------------------------------------------


def test_a_signed_event_makes_the_subscription_and_the_role(stripe_app, localstripe, plans,
                                                             db, user_id):
    sub = localstripe.subscribe(plans["pro"], user_ref=str(user_id))
    result = deliver(stripe_app, event("customer.subscription.created", sub))
    assert (result.status_code, result.json) == (200, {"result": "processed"})
    [row], events = stored(db)
    assert (row.user_id, row.plan, row.status) == (user_id, Plan.PRO, SubscriptionStatus.ACTIVE)
    assert row.stripe_customer_id == sub["customer"] and events == 1
    assert row.current_period_end == datetime.fromtimestamp(sub["current_period_end"], UTC)
    assert role_of(db, user_id) is UserRole.PRO


def tampered(payload):
    return payload.replace(b'"livemode": false', b'"livemode": true ')


@pytest.mark.parametrize("forge", [
    pytest.param(lambda p: (p, sign(p, "whsec_wrong")), id="wrong secret"),
    pytest.param(lambda p: (tampered(p), sign(p, SECRET)), id="changed byte"),
    pytest.param(lambda p: (p, sign(p, SECRET, int(time.time()) - 301)), id="old timestamp"),
    pytest.param(lambda p: (json.dumps(json.loads(p), indent=1).encode(), sign(p, SECRET)),
                 id="re-serialised body"),
    pytest.param(lambda p: (p, None), id="unsigned"),
    pytest.param(lambda p: (p, "t=1,v1="), id="garbage header"),
])
def test_forged_or_stale_events_are_refused_and_change_nothing(stripe_app, pro_subscription,
                                                                db, user_id, forge):
    sub = pro_subscription
    payload, signature = forge(event("customer.subscription.created", sub))
    result = post(stripe_app, payload, signature)
    assert (result.status_code, result.json["code"]) == (400, "invalid_signature")
    assert stored(db) == ([], 0)
    assert role_of(db, user_id) is UserRole.FREE


def test_a_signature_within_tolerance_is_accepted(stripe_app, localstripe, plans, user_id):
    sub = localstripe.subscribe(plans["pro"], user_ref=str(user_id))
    payload = event("customer.subscription.updated", sub)
    assert post(stripe_app, payload, sign(payload, SECRET, int(time.time()) - 250)
                ).status_code == 200


# -- once, and in any order -----------------------------------------------------------


def test_a_repeated_event_is_processed_once(stripe_app, localstripe, plans, db, user_id):
    payload = event("customer.subscription.created",
                    localstripe.subscribe(plans["pro"], user_ref=str(user_id)))
    assert deliver(stripe_app, payload).json == {"result": "processed"}
    assert deliver(stripe_app, payload).json == {"result": "duplicate"}
    subs, events = stored(db)
    assert len(subs) == 1 and events == 1


@pytest.mark.parametrize("order", ["in order", "reversed"])
def test_events_out_of_order_leave_the_current_state(stripe_app, localstripe, team_subscription,
                                                      db, order):
    created = team_subscription
    user_id = uuid.UUID(created["metadata"]["launchpad_user_id"])
    deleted = localstripe.client().v1.subscriptions.cancel(created["id"]).to_dict()
    events = [event("customer.subscription.created", created),
              event("customer.subscription.deleted", deleted)]
    for payload in events if order == "in order" else events[::-1]:
        assert deliver(stripe_app, payload).json == {"result": "processed"}
    [row], _ = stored(db)
    assert (row.plan, row.status) == (Plan.TEAM, SubscriptionStatus.CANCELED)
    assert row.end_date is not None
    # Canceled: the Team plan holds until the paid period ends, then Free, data kept.
    assert role_of(db, user_id) is UserRole.TEAM_OWNER


def test_checkout_completion_links_the_subscription_by_client_reference(
        stripe_app, localstripe, plans, db, user_id):
    sub = localstripe.subscribe(plans["pro"], user_ref="not-a-user")
    session = {"id": "cs_test_1", "object": "checkout.session", "mode": "subscription",
               "client_reference_id": str(user_id), "customer": sub["customer"],
               "subscription": sub["id"]}
    assert deliver(stripe_app, event("checkout.session.completed", session)).json == {
        "result": "processed"}
    [row], _ = stored(db)
    assert (row.user_id, row.stripe_subscription_id) == (user_id, sub["id"])


def test_invoice_events_reread_the_subscription_rather_than_trust_the_event(
        stripe_app, localstripe, plans, db, user_id):
    sub = localstripe.subscribe(plans["pro"], user_ref=str(user_id))
    invoice = {"id": "in_1", "object": "invoice", "subscription": sub["id"],
               "customer": sub["customer"], "status": "open"}
    assert deliver(stripe_app, event("invoice.payment_failed", invoice)).json == {
        "result": "processed"}
    [row], _ = stored(db)
    assert row.status is SubscriptionStatus.ACTIVE  # Stripe says active: it is


def test_other_events_and_unknown_users_are_recorded_and_ignored(stripe_app, localstripe,
                                                                  plans, db):
    assert deliver(stripe_app, event("customer.created", {"id": "cus_x"})).json == {
        "result": "ignored"}
    stranger = localstripe.subscribe(plans["pro"], user_ref=str(uuid.uuid4()))
    assert deliver(stripe_app, event("customer.subscription.created", stranger)).json == {
        "result": "ignored"}
    assert stored(db) == ([], 2)


def test_past_due_keeps_the_plan_for_the_grace_period_then_free(db, user_id, clock):
    processor = WebhookProcessor(provider=None, clock=clock, past_due_grace=timedelta(days=7))
    state = SubscriptionState(
        id="sub_pd", customer_id="cus_pd", status="active", plan="pro", user_ref=str(user_id),
        start=clock.now, current_period_start=clock.now,
        current_period_end=clock.now + timedelta(days=30))
    with db.session() as session:
        assert processor.apply(session, state, user_id=user_id)
        clock.advance(days=1)
        assert processor.apply(session, attrs.evolve(state, status="past_due"), user_id=user_id)
        session.commit()
        row = session.scalar(sa.select(Subscription))
        assert row.past_due_since == clock.now
        assert session.get(User, user_id).role is UserRole.PRO
        clock.advance(days=7)
        assert processor.apply(session, attrs.evolve(state, status="past_due"), user_id=user_id)
        assert row.past_due_since == clock.now - timedelta(days=7)
        assert session.get(User, user_id).role is UserRole.FREE
        assert processor.apply(session, attrs.evolve(state, status="active"), user_id=user_id)
        assert row.past_due_since is None and session.get(User, user_id).role is UserRole.PRO


# -- concurrency and localstripe's own deliveries, on a served app ---------------------


@pytest.fixture
def served(committing_engine, serve, settings, billing):
    """The Stripe-configured app on a real server and database: (engine, base URL)."""
    app = service_app(attrs.evolve(settings, billing=billing),
                     session_factory=make_session_factory(committing_engine))
    return committing_engine, serve(app)


def http_post(url, payload, signature):
    request = urllib.request.Request(url, data=payload, method="POST", headers={
        "Content-Type": "application/json", "Stripe-Signature": signature})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["result"]


def add_user(engine):
    with make_session_factory(engine).begin() as session:
        user = User(email=f"{uuid.uuid4().hex[:8]}@example.org", hashed_password="x")
        session.add(user)
        session.flush()
        return user.id


def test_concurrent_duplicates_are_processed_once(served, localstripe, plans):
    committing_engine, base = served
    user_id = add_user(committing_engine)
    payload = event("customer.subscription.created",
                    localstripe.subscribe(plans["pro"], user_ref=str(user_id)))
    signature = sign(payload, SECRET)
    barrier, results = threading.Barrier(8), []

    def send():
        barrier.wait()
        results.append(http_post(base + WEBHOOK, payload, signature))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == ["duplicate"] * 7 + ["processed"]
    with committing_engine.connect() as connection:
        count = connection.scalar(sa.select(sa.func.count()).select_from(WebhookEvent))
        subs = connection.scalar(sa.select(sa.func.count()).select_from(Subscription))
    assert (count, subs) == (1, 1)


def test_the_subscription_is_read_while_the_users_row_is_locked(served, localstripe, plans):
    """An event waiting for the lock applies what Stripe says once it has it, not what
    Stripe said before: here the subscription is canceled while the event waits."""
    engine, base = served
    user_id = add_user(engine)
    sub = localstripe.subscribe(plans["pro"], user_ref=str(user_id))
    payload, results = event("customer.subscription.created", sub), []
    with engine.connect() as blocker, blocker.begin():
        blocker.execute(sa.select(User.id).where(User.id == user_id).with_for_update())
        request = threading.Thread(target=lambda: results.append(
            http_post(base + WEBHOOK, payload, sign(payload, SECRET))))
        request.start()
        time.sleep(0.5)
        localstripe.client().v1.subscriptions.cancel(sub["id"])
    request.join(timeout=30)
    assert results == ["processed"]
    with engine.connect() as connection:
        assert connection.scalar(sa.select(Subscription.status)) is SubscriptionStatus.CANCELED


def wait_for(engine, user_id, event_type, timeout=20.0):
    """Once localstripe's ``event_type`` event has been recorded: the user's subscription
    row and role."""
    deadline = time.monotonic() + timeout
    factory = make_session_factory(engine)
    while time.monotonic() < deadline:
        with factory() as session:
            seen = session.scalar(sa.select(WebhookEvent.id).where(
                WebhookEvent.type == event_type))
            row = session.scalar(sa.select(Subscription).where(Subscription.user_id == user_id))
            if seen is not None and row is not None:
                return row, session.get(User, user_id).role
        time.sleep(0.2)
    raise AssertionError(f"no {event_type} event arrived in time")


def test_localstripe_deliveries_end_to_end(committing_engine, serve, settings):
    """With a localstripe of its own, so no other test's events reach this app."""
    with run_localstripe() as own:
        plans = {"pro": own.paid_plan(900)}
        billing = BillingSettings(stripe_secret_key=TEST_KEY, stripe_webhook_secret=SECRET,
                                  stripe_prices=plans, stripe_api_base=own.url)
        base = serve(service_app(attrs.evolve(settings, billing=billing),
                                session_factory=make_session_factory(committing_engine)))
        user_id = add_user(committing_engine)
        own.register_webhook("launchpad", base + WEBHOOK, SECRET)
        sub = own.subscribe(plans["pro"], user_ref=str(user_id))
        row, role = wait_for(committing_engine, user_id, "customer.subscription.created")
        assert (row.plan, row.stripe_subscription_id, role) == (Plan.PRO, sub["id"],
                                                                 UserRole.PRO)
        assert row.status is SubscriptionStatus.ACTIVE
        own.client().v1.subscriptions.cancel(sub["id"])
        row, role = wait_for(committing_engine, user_id, "customer.subscription.deleted")
    assert row.status is SubscriptionStatus.CANCELED and row.end_date is not None
    # Canceled before the paid period ends: Pro until then.
    assert role is UserRole.PRO and row.current_period_end > datetime.now(UTC)


# -- account deletion ---------------------------------------------------------------------


@pytest.fixture
def paying(stripe_app, localstripe, plans, new_client, signup):
    """A signed-in client whose user pays for Pro: (client, user id, Stripe subscription)."""
    client = new_client(stripe_app)
    user_id = uuid.UUID(signup(client)["id"])
    sub = localstripe.subscribe(plans["pro"], user_ref=str(user_id))
    assert deliver(stripe_app, event("customer.subscription.created", sub)).status_code == 200
    return client, user_id, sub


def test_deleting_an_account_cancels_its_stripe_subscription_first(paying, localstripe, db):
    client, user_id, sub = paying
    result = client.delete("/api/me", json={"password": PASSWORD})
    assert result.status_code == 204, result.text
    with urllib.request.urlopen(urllib.request.Request(
            f"{localstripe.url}/v1/subscriptions/{sub['id']}",
            headers={"Authorization": f"Bearer {TEST_KEY}"})) as answer:
        assert json.load(answer)["status"] == "canceled"
    with db.session() as session:
        assert session.get(User, user_id) is None


def test_without_a_provider_a_paying_account_is_not_deleted(make_app, db, new_client, signup):
    app = make_app()  # no Stripe keys: the free-only provider cannot cancel
    client = new_client(app)
    me = signup(client)
    user_id = uuid.UUID(me["id"])
    with db.session() as session:
        session.add(Subscription(user_id=user_id, plan=Plan.PRO, stripe_customer_id="cus_1",
                                 stripe_subscription_id="sub_still_billing"))
        session.commit()

    result = client.delete("/api/me", json={"password": PASSWORD})
    assert result.status_code == 503
    assert result.json["code"] == "billing_unavailable"
    assert "sub_still_billing" in result.json["detail"]
    with db.session() as session:
        assert session.get(User, user_id) is not None
