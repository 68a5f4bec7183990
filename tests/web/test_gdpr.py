"""GDPR: the export holds all of a user's data; deleting the account removes what only it owned."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from launchpad_web.accounts.models import ApiToken, AuthSession, LoginFailure, User, UserRole
from launchpad_web.billing.models import Plan, Subscription
from launchpad_web.jobs.models import GenerationJob, JobStatus
from launchpad_web.teams.models import Team, TeamInvitation, TeamMembership, TeamRole
from launchpad_web.templates.models import TemplateRecord, TemplateVersion
from launchpad_web.testing import insert_template

PASSWORD = "correct horse battery staple"
COOKIE = "__Host-lp_session"
T0 = datetime(2029, 6, 1, tzinfo=UTC)


def team(session, name, owner, *members, other_owners=()):
    row = Team(name=name, owner_id=owner, created_at=T0, updated_at=T0)
    session.add(row)
    session.flush()
    roles = [(owner, TeamRole.OWNER), *((m, TeamRole.OWNER) for m in other_owners),
             *((m, TeamRole.MEMBER) for m in members)]
    for n, (user_id, role) in enumerate(roles):
        session.add(TeamMembership(team_id=row.id, user_id=user_id, role=role,
                                   joined_at=T0.replace(minute=n)))
    session.flush()
    return row.id


def template(session, name, owner, team_id=None, *, versions=1, author=None):
    row = insert_template(session, owner_id=owner, team_id=team_id,
                          definition={"name": name, "v": versions},
                          history=[{"name": name, "v": n} for n in range(1, versions)],
                          created_by=author or owner, at=T0)
    return row.id


def job(session, user_id, template_id):
    row = GenerationJob(user_id=user_id, template_id=template_id, template_version=1,
                        status=JobStatus.COMPLETED, answers={"project": "x"}, log=["done"],
                        created_at=T0, updated_at=T0)
    session.add(row)
    session.flush()
    return row.id


@pytest.fixture
def world(client, new_client, signup, db):
    """Ann (``client``) and Bob, with teams, templates, jobs and a subscription each."""
    ann = uuid.UUID(signup(client, "ann@example.org")["id"])
    bob_client = new_client()
    bob = uuid.UUID(signup(bob_client, "bob@example.org")["id"])
    cy = uuid.UUID(signup(new_client(), "cy@example.org")["id"])
    token = client.post("/api/tokens", json={"name": "ci"}).json
    with db.session() as session:
        ids = {"ann": ann, "bob": bob, "cy": cy, "bob_client": bob_client, "token": token}
        ids["ann_team"] = team(session, "Ann's", ann, bob, cy)
        session.get(User, cy).role = UserRole.TEAM_MEMBER
        ids["shared_team"] = team(session, "Shared", ann, other_owners=[bob])
        ids["bob_team"] = team(session, "Bob's", bob, ann)
        ids["ann_template"] = template(session, "ann-own", ann, versions=3)
        ids["bob_in_ann_team"] = template(session, "bob-in-ann-team", bob, ids["ann_team"])
        ids["bob_template"] = template(session, "bob-own", bob, ids["bob_team"], versions=2,
                                       author=ann)
        ids["ann_job"] = job(session, ann, ids["ann_template"])
        ids["bob_job"] = job(session, bob, ids["ann_template"])
        session.add(Subscription(user_id=ann, plan=Plan.PRO, stripe_customer_id="cus_ann",
                                 start_date=T0, created_at=T0, updated_at=T0))
        session.add(Subscription(user_id=bob, plan=Plan.TEAM, stripe_customer_id="cus_bob",
                                 start_date=T0, created_at=T0, updated_at=T0))
        session.add(TeamInvitation(team_id=ids["bob_team"], email="ann@example.org",
                                   token_hash="f" * 64, invited_by=bob, created_at=T0,
                                   expires_at=datetime(2031, 1, 1, tzinfo=UTC)))
        session.commit()
    return ids


def test_the_export_holds_every_kind_of_data(client, world):
    result = client.get("/api/me/export")
    assert result.status_code == 200
    assert result.headers["Content-Disposition"].startswith("attachment;")
    data = result.json
    assert data["format"] == "launchpad-export/1"
    assert data["user"]["email"] == "ann@example.org"
    assert data["user"]["id"] == str(world["ann"])
    assert len(data["sessions"]) == 1 and data["sessions"][0]["user_agent"] is not None
    assert [t["name"] for t in data["api_tokens"]] == ["ci"]
    assert sorted(t["name"] for t in data["teams_owned"]) == ["Ann's", "Shared"]
    memberships = {m["team_name"]: m["role"] for m in data["team_memberships"]}
    assert memberships == {"Ann's": "owner", "Shared": "owner", "Bob's": "member"}
    assert [i["team_id"] for i in data["team_invitations_received"]] == [str(world["bob_team"])]
    [own] = data["templates"]
    assert own["name"] == "ann-own" and own["version"] == 3
    assert [v["number"] for v in own["versions"]] == [1, 2, 3]
    assert own["versions"][1]["definition"] == {"name": "ann-own", "v": 2}
    assert [j["id"] for j in data["generation_jobs"]] == [str(world["ann_job"])]
    assert data["generation_jobs"][0]["answers"] == {"project": "x"}
    assert [s["plan"] for s in data["subscriptions"]] == ["pro"]


def test_the_export_leaves_secrets_and_other_users_out(client, world, db):
    text = client.get("/api/me/export").text
    with db.session() as session:
        secrets = [
            session.scalar(sa.select(User.hashed_password).where(User.id == world["ann"])),
            *session.scalars(sa.select(ApiToken.token_hash)),
            *session.scalars(sa.select(AuthSession.id)),
        ]
    assert all(secret not in text for secret in secrets)
    assert world["token"]["token"] not in text
    assert "f" * 64 not in text  # the invitation's token hash
    assert "hashed_password" not in text and "token_hash" not in text
    for other in ("bob@example.org", str(world["bob_job"]), "cus_bob", "bob-own"):
        assert other not in text


def test_the_export_works_with_an_api_token(world, new_client):
    script = new_client()
    script.default_headers = {}
    result = script.get("/api/me/export",
                        headers={"Authorization": f"Bearer {world['token']['token']}"})
    assert result.status_code == 200 and result.json["user"]["email"] == "ann@example.org"
    assert result.json["sessions"] and result.json["api_tokens"]


def counts(session, model, *where):
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_deleting_the_account_removes_what_only_it_owned(client, world, db, new_client):
    result = client.delete("/api/me", json={"password": PASSWORD})
    assert result.status_code == 204
    assert result.cookies[COOKIE].value == ""
    assert client.get("/api/me").status_code == 401
    ann = world["ann"]
    with db.session() as session:
        for model, column in ((AuthSession, AuthSession.user_id), (ApiToken, ApiToken.user_id),
                              (TeamMembership, TeamMembership.user_id),
                              (TemplateRecord, TemplateRecord.owner_id),
                              (GenerationJob, GenerationJob.user_id),
                              (Subscription, Subscription.user_id)):
            assert counts(session, model, column == ann) == 0, model
        assert session.get(User, ann) is None
        assert session.get(Team, world["ann_team"]) is None  # sole owner: gone ...
        assert session.get(TemplateRecord, world["bob_in_ann_team"]) is None  # ... with it
        assert counts(session, TemplateVersion,
                      TemplateVersion.template_id == world["ann_template"]) == 0
        assert counts(session, LoginFailure, LoginFailure.key == "ann@example.org") == 0
        assert session.get(User, world["cy"]).role is UserRole.FREE  # in no team any more
    login = new_client().post("/api/auth/login",
                              json={"email": "ann@example.org", "password": PASSWORD})
    assert login.status_code == 401


def test_deleting_the_account_leaves_other_users_data_alone(client, world, db):
    assert client.delete("/api/me", json={"password": PASSWORD}).status_code == 204
    bob = world["bob"]
    assert world["bob_client"].get("/api/me").json["email"] == "bob@example.org"
    with db.session() as session:
        shared = session.get(Team, world["shared_team"])
        assert shared is not None and shared.owner_id == bob  # passed to the other owner
        bob_team = session.get(Team, world["bob_team"])
        assert bob_team is not None and bob_team.owner_id == bob
        assert counts(session, TeamMembership, TeamMembership.team_id == world["bob_team"]) == 1
        versions = session.scalars(sa.select(TemplateVersion.created_by).where(
            TemplateVersion.template_id == world["bob_template"])).all()
        assert versions == [None, None]  # Ann wrote them; they stay, unattributed
        bob_job = session.get(GenerationJob, world["bob_job"])
        assert bob_job is not None and bob_job.template_id is None
        assert counts(session, Subscription, Subscription.user_id == bob) == 1
        assert counts(session, AuthSession, AuthSession.user_id == bob) == 1


@pytest.mark.parametrize(("body", "expected"), [
    ({"password": "wrong password here"}, (403, "wrong_password", "$.password")),
    ({}, (422, "invalid_request", "$.password")),
    ({"password": PASSWORD, "user_id": "x"}, (422, "invalid_request", "$.user_id")),
])
def test_deletion_needs_the_password(client, world, db, body, expected):
    status, code, field = expected
    result = client.delete("/api/me", json=body)
    assert result.status_code == status
    assert result.json["code"] == code and result.json["field"] == field
    assert client.get("/api/me").status_code == 200
    with db.session() as session:
        assert session.get(User, world["ann"]) is not None
        assert counts(session, TemplateRecord, TemplateRecord.owner_id == world["ann"]) == 1


def test_deletion_refuses_a_cross_site_request(client, world):
    result = client.delete("/api/me", json={"password": PASSWORD},
                           headers={"Sec-Fetch-Site": "cross-site"})
    assert result.status_code == 403 and result.json["code"] == "csrf_failed"
    assert client.get("/api/me").status_code == 200


def test_tables_other_domains_add_are_exported_too(client, world, db):
    """A table with a ``user_id`` to users that the export does not name (e.g. the jobs
    domain's events) appears under ``other``, with the user's rows only."""
    from launchpad_web.jobs import models as jobs_models

    event = getattr(jobs_models, "Event", None)
    if event is not None:
        with db.session() as session:
            for user_id in (world["ann"], world["bob"]):
                session.add(event(user_id=user_id, job_id=None, kind="job_completed",
                                  message=f"for {user_id}", created_at=T0))
            session.commit()
    other = client.get("/api/me/export").json["other"]
    assert "login_failures" not in other and "webhook_events" not in other
    for table, rows in other.items():
        for row in rows:
            assert str(world["ann"]) in (row.get("user_id"), row.get("owner_id")), table
    if event is not None:
        assert [e["message"] for e in other["events"]] == [f"for {world['ann']}"]
