"""Plan limits at the moment of use, through ``Quotas`` with real sessions and threads."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import attrs
import pytest
import sqlalchemy as sa

from launchpad_web.accounts.models import User, UserRole
from launchpad_web.billing.models import Plan, Subscription, SubscriptionStatus
from launchpad_web.billing.plans import PlanCatalog, PlanLimits
from launchpad_web.billing.quotas import Quotas
from launchpad_web.billing.settings import BillingSettings
from launchpad_web.db import make_session_factory
from launchpad_web.errors import (
    ConfigurationError,
    NotFoundError,
    PlanRequiredError,
    QuotaExceededError,
)
from launchpad_web.evaluation import EvaluationSettings
from launchpad_web.jobs.models import GenerationJob, JobStatus
from launchpad_web.teams.models import Team
from launchpad_web.templates.models import TemplateRecord
from launchpad_web.testing import insert_template
from launchpad_web.usage import DomainUsage
from launchpad_worker.compose import service_app

from .conftest import PASSWORD

NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)


def add_user(session, plan=None, status=SubscriptionStatus.ACTIVE, **sub):
    user = User(email=f"{uuid.uuid4().hex[:10]}@example.org", hashed_password="x",
                created_at=NOW, updated_at=NOW)
    session.add(user)
    session.flush()
    if plan is not None:
        session.add(Subscription(user_id=user.id, plan=plan, status=status,
                                 start_date=NOW - timedelta(days=40), **sub))
        session.flush()
    return user


def add_template(session, user, team=None):
    session.add(TemplateRecord(name="t", definition={}, owner_id=user.id,
                               team_id=team.id if team else None))
    session.flush()


def add_job(session, user, *, template=None, status=JobStatus.COMPLETED, at=NOW):
    session.add(GenerationJob(user_id=user.id, template_id=template.id if template else None,
                              status=status, created_at=at, updated_at=at))
    session.flush()


def add_team(session, owner):
    team = Team(name="crew", owner_id=owner.id)
    session.add(team)
    session.flush()
    template = TemplateRecord(name="shared", definition={}, owner_id=owner.id, team_id=team.id)
    session.add(template)
    session.flush()
    return team, template


@pytest.fixture
def quotas():
    return Quotas(usage=DomainUsage(), clock=lambda: NOW)


def test_free_allows_three_private_templates(db, quotas):
    with db.session() as session:
        user = add_user(session)
        for _ in range(3):
            quotas.check_template_create(session, user_id=user.id, team_id=None)
            add_template(session, user)
        with pytest.raises(QuotaExceededError) as caught:
            quotas.check_template_create(session, user_id=user.id, team_id=None)
        assert caught.value.status == 402 and caught.value.code == "quota_exceeded"
        assert "3 private templates" in caught.value.detail


def test_pro_has_unlimited_templates_and_more_generations(db, quotas):
    with db.session() as session:
        user = add_user(session, Plan.PRO)
        for _ in range(25):
            add_template(session, user)
            add_job(session, user)
        quotas.check_template_create(session, user_id=user.id, team_id=None)
        quotas.check_generation(session, user_id=user.id, team_id=None)
        assert quotas.plan_of(session, user.id) is Plan.PRO
        assert session.get(User, user.id).role is UserRole.PRO


def test_free_generations_count_this_month_and_not_failed_jobs(db, quotas):
    with db.session() as session:
        user = add_user(session)
        for _ in range(19):
            add_job(session, user)
        add_job(session, user, status=JobStatus.FAILED)
        add_job(session, user, at=NOW - timedelta(days=20))  # December
        quotas.check_generation(session, user_id=user.id, team_id=None)
        add_job(session, user, status=JobStatus.PENDING)
        with pytest.raises(QuotaExceededError, match=r"20 generations a month.*2030-02-01"):
            quotas.check_generation(session, user_id=user.id, team_id=None)


def test_teams_need_the_team_plan(db, quotas):
    with db.session() as session:
        free, pro, team_owner = (add_user(session), add_user(session, Plan.PRO),
                                 add_user(session, Plan.TEAM))
        for user in (free, pro):
            with pytest.raises(PlanRequiredError) as caught:
                quotas.check_team_create(session, user_id=user.id)
            assert caught.value.code == "plan_required" and caught.value.status == 402
        quotas.check_team_create(session, user_id=team_owner.id)
        assert session.get(User, team_owner.id).role is UserRole.TEAM_OWNER


def test_team_generations_count_per_team_against_the_owners_plan(db):
    quotas = Quotas(usage=DomainUsage(), clock=lambda: NOW,
                    plans=PlanCatalog.parse("team.generations=2"))
    with db.session() as session:
        owner, member = add_user(session, Plan.TEAM), add_user(session)
        team, template = add_team(session, owner)
        quotas.check_template_create(session, user_id=member.id, team_id=team.id)
        add_job(session, member, template=template)
        add_job(session, owner, template=template)
        add_job(session, member)  # the member's own, on no team template
        with pytest.raises(QuotaExceededError, match="this team's plan allows 2"):
            quotas.check_generation(session, user_id=member.id, team_id=team.id)
        quotas.check_generation(session, user_id=member.id, team_id=None)


def test_a_team_whose_owner_left_the_team_plan_keeps_its_templates_but_cannot_use_them(
        db, quotas):
    with db.session() as session:
        owner = add_user(session, Plan.TEAM, SubscriptionStatus.CANCELED,
                         current_period_end=NOW - timedelta(seconds=1))
        team, _template = add_team(session, owner)
        with pytest.raises(PlanRequiredError):
            quotas.check_template_create(session, user_id=owner.id, team_id=team.id)
        with pytest.raises(PlanRequiredError):
            quotas.check_generation(session, user_id=owner.id, team_id=team.id)
        assert session.scalar(sa.select(sa.func.count()).select_from(TemplateRecord)
                              .where(TemplateRecord.team_id == team.id)) == 1
        with pytest.raises(NotFoundError):
            quotas.check_generation(session, user_id=owner.id, team_id=uuid.uuid4())


@pytest.mark.parametrize(("status", "extra", "now", "expected"), [
    (SubscriptionStatus.PAST_DUE, {"past_due_since": NOW - timedelta(days=6)}, NOW, Plan.PRO),
    (SubscriptionStatus.PAST_DUE, {"past_due_since": NOW - timedelta(days=8)}, NOW, Plan.FREE),
    (SubscriptionStatus.CANCELED, {"current_period_end": NOW + timedelta(days=3)}, NOW,
     Plan.PRO),
    (SubscriptionStatus.CANCELED, {"current_period_end": NOW + timedelta(days=3)},
     NOW + timedelta(days=3), Plan.FREE),
])
def test_past_due_grace_and_canceled_until_period_end(db, status, extra, now, expected):
    quotas = Quotas(usage=DomainUsage(), clock=lambda: now)
    with db.session() as session:
        user = add_user(session, Plan.PRO, status, **extra)
        session.get(User, user.id).role = UserRole.PRO
        for _ in range(3):
            add_template(session, user)
        assert quotas.plan_of(session, user.id) is expected
        if expected is Plan.FREE:
            with pytest.raises(QuotaExceededError):
                quotas.check_template_create(session, user_id=user.id, team_id=None)
            assert session.get(User, user.id).role is UserRole.FREE
        else:
            quotas.check_template_create(session, user_id=user.id, team_id=None)


def test_limits_are_configurable():
    catalog = PlanCatalog.parse("free.templates=5, pro.generations=unlimited,free.teams=yes,"
                                "pro.jobs_in_flight=4")
    assert catalog[Plan.FREE] == PlanLimits(private_templates=5, generations_per_month=20,
                                            teams=True, jobs_in_flight=2)
    assert catalog[Plan.PRO].jobs_in_flight == 4
    assert catalog[Plan.PRO].generations_per_month is None
    assert catalog[Plan.TEAM] == PlanCatalog()[Plan.TEAM]


@pytest.mark.parametrize("text", ["gold.templates=1", "free.colour=1", "free.templates",
                                  "free.templates=-1", "free.teams=maybe",
                                  "free.jobs_in_flight=some"])
def test_bad_limit_overrides_are_refused(text):
    with pytest.raises(ConfigurationError, match="LAUNCHPAD_PLAN_LIMITS"):
        PlanCatalog.parse(text)


# -- races ----------------------------------------------------------------------------


def race(engine, count, attempt):
    """Run ``attempt(session)`` in ``count`` threads at once, each in its own committed
    transaction; the outcomes ("ok" or an error code) in a list."""
    factory = make_session_factory(engine)
    barrier = threading.Barrier(count)
    outcomes = []

    def run():
        barrier.wait()
        try:
            with factory.begin() as session:
                attempt(session)
            outcomes.append("ok")
        except QuotaExceededError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_twenty_parallel_template_creates_leave_exactly_three(committing_engine, quotas):
    with make_session_factory(committing_engine).begin() as session:
        user_id = add_user(session).id

    def create(session):
        quotas.check_template_create(session, user_id=user_id, team_id=None)
        session.add(TemplateRecord(name="t", definition={}, owner_id=user_id))

    outcomes = race(committing_engine, 20, create)
    assert sorted(outcomes) == ["ok"] * 3 + ["quota_exceeded"] * 17
    with committing_engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(TemplateRecord)) == 3


def test_parallel_generations_on_a_team_template_stop_at_the_limit(committing_engine):
    quotas = Quotas(usage=DomainUsage(), clock=lambda: NOW,
                    plans=PlanCatalog.parse("team.generations=5"))
    with make_session_factory(committing_engine).begin() as session:
        owner = add_user(session, Plan.TEAM)
        team, template = add_team(session, owner)
        ids = owner.id, team.id, template.id

    def generate(session):
        quotas.check_generation(session, user_id=ids[0], team_id=ids[1])
        session.add(GenerationJob(user_id=ids[0], template_id=ids[2], created_at=NOW,
                                  updated_at=NOW))

    outcomes = race(committing_engine, 12, generate)
    assert sorted(outcomes) == ["ok"] * 5 + ["quota_exceeded"] * 7


# -- races through the served app ---------------------------------------------------------


def call(base, method, path, body=None, cookie=None):
    """One HTTP request as a browser on the service's own page sends it: (status, JSON)."""
    headers = {"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"}
    if cookie:
        headers["Cookie"] = cookie
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null"), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null"), exc.headers


def signed_in(base):
    """A new user signed up over HTTP: (user id, the session cookie to send)."""
    email = f"{uuid.uuid4().hex[:10]}@example.org"
    status, user, headers = call(base, "POST", "/api/auth/signup",
                                 {"email": email, "password": PASSWORD})
    assert status == 201, user
    return uuid.UUID(user["id"]), headers["Set-Cookie"].split(";")[0]


def in_parallel(count, request):
    barrier, statuses = threading.Barrier(count), []

    def run():
        barrier.wait()
        status, body, _headers = request()
        statuses.append(body["code"] if status == 402 else status)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return sorted(statuses, key=str)


@pytest.fixture
def served(committing_engine, serve, settings):
    """The app with ``LAUNCHPAD_PLAN_LIMITS=limits`` on a real server and its own database:
    ``served(limits) -> base URL``. One account may evaluate 20 templates at once, so
    parallel requests race for the quota, not for evaluators."""

    def start(limits=""):
        changed = attrs.evolve(settings, billing=BillingSettings(plans=PlanCatalog.parse(limits),
                                                                 enforce_plans="yes"),
                               jobs=attrs.evolve(settings.jobs, immediate=True),
                               evaluation=EvaluationSettings(slots=20, per_user=20,
                                                             queue_seconds=60))
        return serve(service_app(changed, session_factory=make_session_factory(committing_engine)))

    return start


def count_rows(engine, model):
    with engine.connect() as connection:
        return connection.scalar(sa.select(sa.func.count()).select_from(model))


def test_twenty_parallel_template_creates_over_http_leave_exactly_three(served,
                                                                         committing_engine):
    base = served()
    _user_id, cookie = signed_in(base)
    definition = {"name": "tiny", "files": [{"path": "a.txt", "content": "x"}]}
    statuses = in_parallel(20, lambda: call(base, "POST", "/api/templates", {
        "name": "tiny", "definition": definition}, cookie))
    assert statuses == [201] * 3 + ["quota_exceeded"] * 17
    assert count_rows(committing_engine, TemplateRecord) == 3
    _status, overview, _ = call(base, "GET", "/api/subscriptions", cookie=cookie)
    assert overview["usage"]["private_templates"] == 3


def test_parallel_generate_requests_stop_at_the_free_limit(served, committing_engine):
    base = served("free.generations=3,free.jobs_in_flight=unlimited")
    user_id, cookie = signed_in(base)
    definition = {"name": "tiny", "files": [{"path": "a.txt", "content": "x"}]}
    with make_session_factory(committing_engine).begin() as session:
        template = insert_template(session, owner_id=user_id, definition=definition)
        template_id = str(template.id)

    statuses = in_parallel(10, lambda: call(base, "POST", "/api/generate", {
        "template_id": template_id, "answers": {}}, cookie))
    assert statuses == [202] * 3 + ["quota_exceeded"] * 7
    assert count_rows(committing_engine, GenerationJob) == 3
    status, overview, _ = call(base, "GET", "/api/subscriptions", cookie=cookie)
    assert status == 200 and overview["usage"]["generations"] == 3
