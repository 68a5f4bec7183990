"""Projects and the fleet through the HTTP API: every completed job records one project
(answers redacted as the job holds them), seen by its maker and its template's team;
the fleet of a template counts them by version. Jobs run inside the request (Huey's
immediate mode) on the test transaction."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from launchpad_web.billing.models import Plan
from launchpad_web.jobs import leases
from launchpad_web.jobs.models import GenerationJob, JobStatus
from launchpad_web.projects.fleet_cache import FleetCache
from launchpad_web.projects.models import Project
from launchpad_web.projects.records import record
from launchpad_worker.runner import complete

from .conftest import Person, people
from .test_teams import add_member, create_team, problem

TEMPLATE_ID = uuid.uuid4()
SECRET_TEMPLATE = {
    "name": "service",
    "variables": [
        {"name": "project_name", "type": "str", "default": "rocket"},
        {"name": "token", "type": "str", "secret": True, "default": ""},
    ],
    "files": [{"path": "{{ project_name }}/README.md", "content": "# {{ project_name }}"}],
}


@pytest.fixture
def jobs_app(make_app, settings):
    return make_app(jobs=attrs.evolve(settings.jobs, immediate=True, cpu_seconds=2))


@pytest.fixture
def person(jobs_app, new_client, signup, db):
    return people(lambda: new_client(jobs_app), signup, db)


def new_template(owner: Person, *, team_id: str | None = None,
                 definition: dict[str, Any] = SECRET_TEMPLATE) -> dict[str, Any]:
    body = {"name": definition["name"], "definition": definition}
    result = owner.post("/api/templates", {**body, **({"team_id": team_id} if team_id else {})})
    assert result.status_code == 201, result.text
    return result.json


def save_version(owner: Person, template: dict[str, Any]) -> dict[str, Any]:
    current = owner.get(f"/api/templates/{template['id']}").json
    result = owner.put(f"/api/templates/{template['id']}", {
        "name": current["name"], "definition": current["definition"],
        "version": current["version"]})
    assert result.status_code == 200, result.text
    return result.json


def generate(who: Person, template: dict[str, Any], answers: dict[str, Any] | None = None,
             **extra: Any) -> dict[str, Any]:
    result = who.post("/api/generate", {"template_id": template["id"],
                                        "answers": answers or {}, **extra})
    assert result.status_code == 202, result.text
    assert result.json["status"] == "completed", result.json
    return result.json


def project_of(who: Person, job: dict[str, Any]) -> dict[str, Any]:
    found = [p for p in who.get("/api/projects?limit=100").json["projects"]
             if p["job_id"] == job["id"]]
    assert len(found) == 1, found
    return found[0]


def invalid(result: Any, code: str, field: str) -> None:
    problem(result, 422, "invalid_request")
    assert [(e["code"], e["field"]) for e in result.json["errors"]] == [(code, field)]


def count_projects(db: Any) -> int:
    with db.session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Project))


def test_a_completed_job_records_its_project_with_secrets_redacted(person, db, clock):
    me = person()
    template = new_template(me)
    job = generate(me, template, {"project_name": "apollo", "token": "s3cr3t"})
    project = project_of(me, job)
    assert project == {
        "id": project["id"], "template_id": template["id"], "template_name": "service",
        "template_version": 1, "latest_version": 1, "behind": 0,
        "answers": {"project_name": "apollo", "token": "***"},
        "made_by": {"id": me.id, "email": me.email}, "team_id": None,
        "created_at": clock().isoformat(), "job_id": job["id"],
        "archive": f"/api/generate/{job['id']}/download", "destination": None,
    }
    assert me.get(f"/api/projects/{project['id']}").json == project
    with db.session() as session:
        assert "s3cr3t" not in str(session.scalars(sa.select(Project.answers)).all())


def test_a_failed_or_refused_generation_records_no_project(person, db):
    me = person()
    template = new_template(me, definition={**SECRET_TEMPLATE, "files": [
        {"path": "x", "content": "{{ 1 / 0 }}"}]})
    result = me.post("/api/generate", {"template_id": template["id"], "answers": {}})
    assert result.json["status"] == "failed"
    assert me.post("/api/generate", {"template_id": template["id"],
                                     "answers": {"nope": 1}}).status_code == 422
    assert count_projects(db) == 0
    assert me.get("/api/projects").json == {"projects": [], "total": 0, "limit": 20,
                                            "next_cursor": None}


def test_another_account_gets_404_for_my_project_and_sees_none_of_them(person):
    me, stranger = person(), person()
    project = project_of(me, generate(me, new_template(me)))
    for method in ("GET", "DELETE"):
        result = stranger.client.request(method, f"/api/projects/{project['id']}")
        problem(result, 404, "project_not_found")
    assert stranger.get("/api/projects").json["total"] == 0
    assert me.get(f"/api/projects/{project['id']}").status_code == 200


def test_the_maker_deletes_a_project_and_its_job_stays(person, db):
    me = person()
    job = generate(me, new_template(me))
    project = project_of(me, job)
    assert me.delete(f"/api/projects/{project['id']}").status_code == 204
    problem(me.get(f"/api/projects/{project['id']}"), 404, "project_not_found")
    problem(me.delete(f"/api/projects/{project['id']}"), 404, "project_not_found")
    assert me.get(f"/api/generate/{job['id']}").json["status"] == "completed"
    assert count_projects(db) == 0


def test_team_projects_are_seen_by_the_team_and_deleted_by_its_managers(person):
    owner, admin, member, outsider = person(plan=Plan.TEAM), person(), person(), person()
    team = create_team(owner)
    add_member(team, owner, admin, "admin")
    add_member(team, owner, member)
    template = new_template(owner, team_id=team["id"])
    mine = project_of(member, generate(member, template))
    theirs = project_of(owner, generate(owner, template))
    assert mine["team_id"] == team["id"]
    for who in (owner, admin, member):
        listed = who.get("/api/projects").json
        assert sorted(p["id"] for p in listed["projects"]) == sorted([mine["id"], theirs["id"]])
        by_team = who.get(f"/api/projects?team_id={team['id']}").json
        assert by_team["total"] == 2
    problem(outsider.get(f"/api/projects?team_id={team['id']}"), 404, "not_found")
    problem(outsider.get(f"/api/projects/{mine['id']}"), 404, "project_not_found")
    problem(member.delete(f"/api/projects/{theirs['id']}"), 403, "forbidden")
    assert admin.delete(f"/api/projects/{mine['id']}").status_code == 204
    assert member.delete(f"/api/projects/{theirs['id']}").status_code == 403
    assert owner.delete(f"/api/projects/{theirs['id']}").status_code == 204


def test_the_list_pages_newest_first_with_a_cursor(person, clock):
    me = person()
    template = new_template(me)
    made = []
    for _ in range(5):
        made.append(project_of(me, generate(me, template))["id"])
        clock.advance(seconds=1)
    first = me.get("/api/projects?limit=2").json
    assert [p["id"] for p in first["projects"]] == made[:-3:-1]
    assert first["total"] == 5
    seen = [p["id"] for p in first["projects"]]
    cursor = first["next_cursor"]
    while cursor:
        page = me.get(f"/api/projects?limit=2&cursor={cursor}").json
        seen += [p["id"] for p in page["projects"]]
        cursor = page["next_cursor"]
    assert seen == made[::-1]
    invalid(me.get("/api/projects?cursor=nonsense"), "invalid_cursor", "cursor")
    invalid(me.get("/api/projects?limit=0"), "invalid_value", "limit")
    invalid(me.get("/api/projects?template_id=x"), "invalid_value", "template_id")
    assert me.get(f"/api/projects?template_id={template['id']}").json["total"] == 5
    assert me.get(f"/api/projects?template_id={uuid.uuid4()}").json["total"] == 0


def test_projects_with_the_same_time_page_by_id(person):
    me = person()
    template = new_template(me)
    made = {project_of(me, generate(me, template))["id"] for _ in range(3)}
    seen, cursor = [], None
    while True:
        page = me.get("/api/projects?limit=1" + (f"&cursor={cursor}" if cursor else "")).json
        seen += [p["id"] for p in page["projects"]]
        if not (cursor := page["next_cursor"]):
            break
    assert sorted(seen) == sorted(made) and len(seen) == 3


def test_a_deleted_template_leaves_its_projects_without_a_fleet(person):
    me = person()
    template = new_template(me)
    project = project_of(me, generate(me, template))
    assert me.delete(f"/api/templates/{template['id']}").status_code == 204
    shown = me.get(f"/api/projects/{project['id']}").json
    assert (shown["template_id"], shown["template_name"], shown["latest_version"],
            shown["behind"]) == (None, "service", None, None)
    problem(me.get(f"/api/templates/{template['id']}/fleet"), 404, "not_found")


# -- the fleet ------------------------------------------------------------------------
def test_the_fleet_counts_projects_per_version_and_how_far_behind(person, clock):
    me = person()
    template = new_template(me)
    generate(me, template)
    generate(me, template)
    save_version(me, template)
    save_version(me, template)
    clock.advance(seconds=1)
    generate(me, template, version=2)
    clock.advance(seconds=1)
    newest = project_of(me, generate(me, template))
    fleet = me.get(f"/api/templates/{template['id']}/fleet").json
    assert fleet["latest_version"] == 3
    assert fleet["total"] == 4
    assert fleet["versions"] == [{"version": 3, "behind": 0, "projects": 1},
                                 {"version": 2, "behind": 1, "projects": 1},
                                 {"version": 1, "behind": 2, "projects": 2}]
    rows = fleet["projects"]
    assert [(r["version"], r["behind"]) for r in rows] == [(3, 0), (2, 1), (1, 2), (1, 2)]
    assert rows[0] == {"project_id": newest["id"], "version": 3, "behind": 0,
                       "made_by": {"id": me.id, "email": me.email},
                       "created_at": newest["created_at"], "would_conflict": False}
    assert {r["would_conflict"] for r in rows[1:]} == {None}  # behind: not computed yet
    assert me.get(f"/api/projects/{rows[-1]['project_id']}").json["behind"] == 2
    paged = me.get(f"/api/templates/{template['id']}/fleet?limit=3").json
    assert (len(paged["projects"]), paged["total"], paged["limit"]) == (3, 4, 3)
    rest = me.get(f"/api/templates/{template['id']}/fleet?limit=3"
                  f"&cursor={paged['next_cursor']}").json
    assert [r["project_id"] for r in paged["projects"] + rest["projects"]] == [
        r["project_id"] for r in rows]
    assert rest["next_cursor"] is None
    invalid(me.get(f"/api/templates/{template['id']}/fleet?limit=1001"), "invalid_value",
            "limit")


def test_a_team_templates_fleet_shows_the_teams_projects_to_members_only(person):
    owner, member, outsider = person(plan=Plan.TEAM), person(), person()
    team = create_team(owner)
    add_member(team, owner, member)
    template = new_template(owner, team_id=team["id"])
    generate(owner, template)
    generate(member, template)
    for who in (owner, member):
        fleet = who.get(f"/api/templates/{template['id']}/fleet").json
        assert fleet["total"] == 2
        assert {r["made_by"]["email"] for r in fleet["projects"]} == {owner.email, member.email}
    problem(outsider.get(f"/api/templates/{template['id']}/fleet"), 404, "not_found")


def test_a_fleet_row_is_shown_only_to_those_who_see_the_project(person, db):
    """A project made in a team whose template later left it (its team_id differs): the
    team's members do not see it in the fleet, its maker does in their list."""
    owner, member = person(plan=Plan.TEAM), person()
    team = create_team(owner)
    add_member(team, owner, member)
    template = new_template(owner, team_id=team["id"])
    project = project_of(member, generate(member, template))
    with db.session() as session:
        session.execute(sa.update(Project).values(team_id=None))
        session.commit()
    assert owner.get(f"/api/templates/{template['id']}/fleet").json["total"] == 0
    problem(owner.get(f"/api/projects/{project['id']}"), 404, "project_not_found")
    assert member.get(f"/api/projects/{project['id']}").status_code == 200


def test_my_fleet_is_empty_until_something_is_made(person):
    me = person()
    template = new_template(me)
    assert me.get(f"/api/templates/{template['id']}/fleet").json == {
        "template_id": template["id"], "latest_version": 1, "total": 0, "versions": [],
        "projects": [], "limit": 100, "next_cursor": None}


def test_a_kept_fleet_answer_is_never_served_after_a_change(person, clock):
    """Each change between two reads shows at once (the fingerprint changes): a new
    project, a deletion, a new version, a member leaving the team."""
    owner, member = person(plan=Plan.TEAM), person()
    team = create_team(owner)
    add_member(team, owner, member)
    template = new_template(member, team_id=team["id"])
    path = f"/api/templates/{template['id']}/fleet"

    def seen(who: Person) -> tuple[int, int, list[int]]:
        fleet = who.get(path).json
        return fleet["total"], fleet["latest_version"], [r["version"] for r in fleet["projects"]]

    assert seen(member) == seen(member) == (0, 1, [])
    clock.advance(seconds=1)
    project = project_of(owner, generate(owner, template))
    assert seen(member) == (1, 1, [1])
    save_version(member, template)
    assert seen(member) == (1, 2, [1])
    clock.advance(seconds=1)
    mine = project_of(member, generate(member, template))
    assert seen(member) == (2, 2, [2, 1])
    assert owner.delete(f"/api/projects/{project['id']}").status_code == 204
    assert seen(member) == seen(owner) == (1, 2, [2])
    assert member.delete(f"/api/teams/{team['id']}/members/{member.id}").status_code == 204
    assert seen(member) == (1, 2, [2])  # the template's maker: their own project still
    assert owner.delete(f"/api/projects/{mine['id']}").status_code == 204
    assert seen(member) == (0, 2, [])


# -- recording, once ------------------------------------------------------------------
def test_a_retried_job_records_one_project(person, db, clock):
    """Worker A's lease expires, B takes the job over and completes it; A's late
    completion, B's repeated one and a second recording change nothing."""
    me = person()
    template = new_template(me)
    with db.session() as session:
        job = GenerationJob(user_id=uuid.UUID(me.id), template_id=uuid.UUID(template["id"]),
                            template_version=1, status=JobStatus.PENDING, answers={"token": "***"},
                            log=[], created_at=clock(), updated_at=clock())
        session.add(job)
        session.commit()
        job_id = job.id
    lease = timedelta(seconds=30)

    def run(owner: str, action: Any, **kwargs: Any) -> Any:
        with db.session() as session:
            result = action(session, job_id, owner=owner, now=clock(), **kwargs)
            session.commit()
            return result

    stored = {"key": "k", "size": 1, "sha256": "0" * 64, "files": 1, "total_bytes": 1}
    assert run("a", leases.claim, lease=lease, max_attempts=3) is not None
    clock.advance(seconds=31)
    with db.session() as session:
        assert leases.release(session, job_id, now=clock(), message="retry")
        session.commit()
    assert run("b", leases.claim, lease=lease, max_attempts=3) is not None
    assert run("b", complete, **stored) is True
    assert run("a", complete, **stored) is False
    assert run("b", complete, **stored) is False
    with db.session() as session:
        assert record(session, job_id, now=clock()) is False
        session.commit()
    assert count_projects(db) == 1
    assert project_of(me, {"id": str(job_id)})["answers"] == {"token": "***"}


def test_anonymous_callers_are_refused(client):
    for path in ("/api/projects", f"/api/projects/{uuid.uuid4()}",
                 f"/api/templates/{uuid.uuid4()}/fleet"):
        assert client.get(path).status_code == 401


def test_the_fleet_cache_builds_once_per_fingerprint_and_keeps_a_bounded_number():
    cache, built = FleetCache(size=2), []

    def answer(user: uuid.UUID, fingerprint: Any) -> bytes:
        def build() -> bytes:
            built.append((user, fingerprint))
            return f"{user}:{fingerprint}".encode()
        return cache.answer(user_id=user, template_id=TEMPLATE_ID, page=(100, None),
                            fingerprint=fingerprint, build=build)

    ann, bob, cid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert answer(ann, 1) == answer(ann, 1) == f"{ann}:1".encode()
    assert answer(bob, 1) == f"{bob}:1".encode()
    assert answer(ann, 2) == f"{ann}:2".encode()
    assert built == [(ann, 1), (bob, 1), (ann, 2)]
    answer(cid, 1)  # a third key: the least recently used (bob's) goes
    answer(bob, 1)
    assert built[-1] == (bob, 1) and len(cache.items) == 2


def test_the_pages_show_my_projects_and_only_visible_fleets(person, client):
    me, stranger = person(), person()
    template = new_template(me)
    generate(me, template, {"project_name": "apollo", "token": "s3cr3t"})
    mine = me.get("/projects")
    assert mine.status_code == 200 and "1 project." in mine.text and "s3cr3t" not in mine.text
    fleet = me.get(f"/templates/{template['id']}/projects")
    assert 'aria-label="Version 1: 1 of 1 projects"' in fleet.text
    assert "<style" not in fleet.text and "style=" not in fleet.text and "<script" not in fleet.text
    assert stranger.get(f"/templates/{template['id']}/projects").status_code == 404
    assert "No projects yet" in stranger.get("/projects").text
    assert client.get("/projects").headers["Location"] == "/login?next=/projects"


def test_the_openapi_document_says_what_a_null_would_conflict_means(client):
    schemas = client.get("/api/openapi.json").json["components"]["schemas"]
    conflict = schemas["FleetRow"]["properties"]["would_conflict"]
    assert conflict["anyOf"] == [{"type": "boolean"}, {"type": "null"}]
    assert "null while it is unknown" in conflict["description"]
    assert schemas["ProjectView"]["properties"]["destination"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}]}


def test_my_projects_are_in_my_data_export_with_secrets_redacted(person):
    me, other = person(), person()
    project = project_of(me, generate(me, new_template(me), {"token": "s3cr3t"}))
    generate(other, new_template(other))
    exported = me.get("/api/me/export")
    assert [p["id"] for p in exported.json["other"]["projects"]] == [project["id"]]
    assert "s3cr3t" not in exported.text
