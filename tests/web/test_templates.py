"""Templates over the API: create, read, list, versions, optimistic concurrency, delete,
team access, and every 422 with the JSON path of each problem.

Previews and the list cache are in ``test_templates_preview.py`` and
``test_templates_cache.py``.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from launchpad_web.accounts.models import User
from launchpad_web.billing.models import Plan, Subscription, SubscriptionStatus
from launchpad_web.billing.quotas import Quotas
from launchpad_web.errors import VersionConflictError
from launchpad_web.models import metadata
from launchpad_web.templates.models import TemplateRecord, TemplateVersion
from launchpad_web.templates.schemas import TemplateRequest, TemplateUpdateRequest
from launchpad_web.templates.services import TemplateService, encode_cursor
from launchpad_web.usage import DomainUsage

from .conftest import Person, join_team, people

FRESH = "5d1b9c4e-0000-4000-8000-00000000f7e5"  # fixed: xdist workers must collect the same ids
DEFINITION = {
    "name": "hello",
    "variables": [{"name": "project", "default": "rocket"}],
    "files": [{"path": "{{ project }}/README.md", "content": "# {{ project }}\n"}],
}


# -- helpers (the preview and cache tests use them too) --------------------------------


def create_template(who: Person, name: str = "Hello", definition: Any = DEFINITION,
                    team_id: str | None = None) -> dict[str, Any]:
    body = {"name": name, "definition": definition}
    if team_id is not None:
        body["team_id"] = team_id
    result = who.post("/api/templates", body)
    assert result.status_code == 201, result.text
    return result.json


def make_team(owner: Person, *, admin: Any = (), member: Any = ()) -> str:
    team = owner.post("/api/teams", {"name": "Crew"})
    assert team.status_code == 201, team.text
    for role, who in [*(("admin", p) for p in admin), *(("member", p) for p in member)]:
        join_team(owner, team.json["id"], who, role)
    return team.json["id"]


def fields(result: Any) -> dict[str, str]:
    return {e["field"]: e["code"] for e in result.json["errors"]}


def stored(db: Any, template_id: str) -> tuple[Any, list[int]]:
    with db.session() as session:
        row = session.get(TemplateRecord, uuid.UUID(template_id))
        numbers = session.scalars(sa.select(TemplateVersion.number).where(
            TemplateVersion.template_id == uuid.UUID(template_id)).order_by(
            TemplateVersion.number)).all()
        return (None if row is None else (row.name, row.version, row.definition)), list(numbers)


def snapshot(db: Any) -> dict[str, list[tuple[Any, ...]]]:
    tables = [metadata.tables[name] for name in ("templates", "template_versions")]
    return {t.name: [tuple(r) for r in db.connection.execute(
        sa.select(t).order_by(*t.primary_key.columns))] for t in tables}


@pytest.fixture
def person(new_client, signup, db):
    return people(new_client, signup, db)


# -- create and read -------------------------------------------------------------------
def test_create_then_read_with_etag_and_first_version(person, db):
    ann = person()
    result = ann.post("/api/templates", {"name": " Hello ", "definition": DEFINITION})
    assert result.status_code == 201, result.text
    body = result.json
    assert body["name"] == "Hello"
    assert body["version"] == 1
    assert body["owner_id"] == ann.id and body["team_id"] is None
    assert body["definition"] == DEFINITION
    assert result.headers["etag"] == '"v1"'
    assert result.headers["location"] == f"/api/templates/{body['id']}"

    again = ann.get(f"/api/templates/{body['id']}")
    assert again.status_code == 200
    assert again.json == body
    assert again.headers["etag"] == '"v1"'
    versions = ann.get(f"/api/templates/{body['id']}/versions").json["versions"]
    assert [(v["number"], v["created_by"]) for v in versions] == [(1, ann.id)]
    assert stored(db, body["id"]) == (("Hello", 1, DEFINITION), [1])


def test_every_problem_of_a_definition_is_reported_with_its_path(person, db):
    ann = person()
    definition = {
        "name": "x",
        "variables": [{"name": "1bad"}, {"name": "ok", "type": "nope"}],
        "files": [{"path": "a/{{ x"}, {"path": "../up"}],
    }
    result = ann.post("/api/templates", {"name": "", "definition": definition})
    assert result.status_code == 422
    assert result.json["code"] == "invalid_definition"
    assert fields(result) == {
        "$.name": "invalid_value",
        "$.definition.variables[0].name": "invalid_name",
        "$.definition.variables[1].type": "unknown_type",
        "$.definition.files[0].path": "template_syntax",
        "$.definition.files[1].path": "unsafe_path",
    }
    assert snapshot(db) == {"templates": [], "template_versions": []}


def test_tasks_and_hooks_are_accepted_and_stated_as_skipped(person):
    """Like Copier's --skip-tasks: the service saves such a template, says what it will
    never run, and renders without it (see test_jobs)."""
    definition = {"name": "x", "files": [{"path": "a.txt", "content": "a"}], "settings": {
        "tasks": [{"command": "rm -rf ~"}, {"script": "hooks/post_gen_project.py"}],
        "origin": {"skipped_tasks": ["hooks/pre_prompt.py"]}}}
    result = person().post("/api/templates", {"name": "t", "definition": definition})
    assert result.status_code == 201, result.text
    assert result.json["skipped_tasks"] == [
        "hooks/pre_prompt.py", "rm -rf ~", "hooks/post_gen_project.py"]


@pytest.mark.parametrize("definition, expected", [
    ({"name": "x", "files": [{"path": 3}], "bogus": 1},
     {"$.definition.files[0].path": "structure", "$.definition.bogus": "structure"}),
    ([1, 2], {"$.definition": "type"}),
    ({"name": "x", "settings": {"jinja_extensions": ["evil.Ext"]}},
     {"$.definition.settings.jinja_extensions": "untrusted_code"}),
])
def test_malformed_and_code_running_definitions_are_refused(person, db, definition, expected):
    result = person().post("/api/templates", {"name": "t", "definition": definition})
    assert result.status_code == 422, result.text
    assert result.json["code"] == "invalid_definition"
    assert fields(result) == expected
    assert snapshot(db) == {"templates": [], "template_versions": []}


def test_nul_characters_are_refused_with_the_body_before_the_definition_is_read(person, db):
    definition = {"name": "x\u0000", "files": [{"path": "a", "content": "\u0000"}]}
    result = person().post("/api/templates", {"name": "t", "definition": definition})
    assert (result.status_code, result.json["code"]) == (422, "invalid_request")
    assert fields(result) == {"$.definition.name": "invalid_character",
                              "$.definition.files[0].content": "invalid_character"}
    assert snapshot(db) == {"templates": [], "template_versions": []}


def test_request_fields_are_checked(person):
    ann = person()
    result = ann.post("/api/templates", {"definition": DEFINITION, "team_id": "nope", "x": 1})
    assert result.status_code == 422
    assert fields(result) == {"$.name": "missing_field", "$.team_id": "invalid_value",
                              "$.x": "unknown_field"}


def test_a_name_with_a_nul_character_is_refused(person, db):
    result = person().post("/api/templates", {"name": "a\u0000", "definition": DEFINITION})
    assert result.status_code == 422
    assert fields(result) == {"$.name": "invalid_character"}
    assert snapshot(db) == {"templates": [], "template_versions": []}


def test_the_free_plan_quota_is_checked_before_inserting(person, db):
    ann = person()
    for n in range(3):
        create_template(ann, f"t{n}")
    before = snapshot(db)
    result = ann.post("/api/templates", {"name": "t3", "definition": DEFINITION})
    assert result.status_code == 402
    assert result.json["code"] == "quota_exceeded"
    assert snapshot(db) == before


# -- versions and optimistic concurrency --------------------------------------------------
def changed(name: str = "Hello 2") -> dict[str, Any]:
    return {**DEFINITION, "description": name}


def test_put_saves_a_new_version_and_keeps_every_old_one(person, db):
    ann = person()
    template = create_template(ann)
    path = f"/api/templates/{template['id']}"
    result = ann.put(path, {"name": "Renamed", "definition": changed(), "version": 1})
    assert result.status_code == 200, result.text
    assert result.json["version"] == 2 and result.json["name"] == "Renamed"
    assert result.headers["etag"] == '"v2"'
    result = ann.client.put(path, json={"name": "Renamed", "definition": changed("3")},
                            headers={"If-Match": '"v2"'})
    assert result.status_code == 200, result.text
    assert result.json["version"] == 3

    versions = ann.get(f"{path}/versions").json["versions"]
    assert [v["number"] for v in versions] == [1, 2, 3]
    assert ann.get(f"{path}/versions/1").json["definition"] == DEFINITION
    assert ann.get(f"{path}/versions/2").json["definition"] == changed()
    assert ann.get(f"{path}/versions/3").json["definition"] == changed("3")
    for missing in ("4", "0", "abc", "99999999999999999999", "-1"):
        assert ann.get(f"{path}/versions/{missing}").status_code == 404
    assert stored(db, template["id"]) == (("Renamed", 3, changed("3")), [1, 2, 3])


@pytest.mark.parametrize("case", [
    ({}, 1, 409, "version_conflict"),
    ({"If-Match": '"v1"'}, None, 412, "version_conflict"),
    ({"If-Match": "garbage"}, None, 412, "invalid_precondition"),
    ({}, None, 428, "version_required"),
])
def test_a_stale_or_missing_version_changes_nothing(person, db, case):
    headers, body_version, status, code = case
    ann = person()
    template = create_template(ann)
    path = f"/api/templates/{template['id']}"
    assert ann.put(path, {"name": "n", "definition": changed(), "version": 1}).status_code == 200
    before = snapshot(db)
    body = {"name": "lost", "definition": changed("lost")}
    if body_version is not None:
        body["version"] = body_version
    result = ann.client.put(path, json=body, headers=headers)
    assert result.status_code == status, result.text
    assert result.json["code"] == code
    assert snapshot(db) == before


def test_of_two_concurrent_saves_of_one_version_the_second_conflicts(committing_engine):
    """The second save waits for the first's lock, then finds its version stale."""
    now = datetime(2030, 1, 1, tzinfo=UTC)
    quotas = Quotas(usage=DomainUsage(), clock=lambda: now)
    service = TemplateService(quotas=quotas, clock=lambda: now)
    with sa.orm.Session(committing_engine) as session:
        user = User(email="ann@example.org", hashed_password="x", created_at=now, updated_at=now)
        session.add(user)
        session.flush()
        user_id = user.id
        template = service.create(session, user_id=user_id, request=TemplateRequest(
            name="t", definition=DEFINITION))
        session.commit()
    outcome: list[object] = []

    def save(session: Any, description: str) -> None:
        service.update(session, user_id=user_id, template_id=template.id, if_match=None,
                       request=TemplateUpdateRequest(name=description, version=1,
                                                     definition=changed(description)))

    def second() -> None:
        with sa.orm.Session(committing_engine) as session:
            try:
                save(session, "second")
                session.commit()
                outcome.append("saved")
            except VersionConflictError as exc:
                outcome.append(exc)

    with sa.orm.Session(committing_engine) as first:
        save(first, "first")
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive(), "the second save should wait for the first"
        first.commit()
    thread.join(timeout=10)
    assert len(outcome) == 1 and isinstance(outcome[0], VersionConflictError)
    with sa.orm.Session(committing_engine) as session:
        row = session.get(TemplateRecord, template.id)
        assert (row.name, row.version) == ("first", 2)
        assert session.scalars(sa.select(TemplateVersion.number).where(
            TemplateVersion.template_id == template.id)).all() == [1, 2]


def test_an_invalid_new_version_changes_nothing(person, db):
    ann = person()
    template = create_template(ann)
    before = snapshot(db)
    result = ann.put(f"/api/templates/{template['id']}",
                     {"name": "n", "definition": {"name": "x", "files": [{"path": "/abs"}]},
                      "version": 1})
    assert result.status_code == 422
    assert list(fields(result)) == ["$.definition.files[0].path"]
    assert snapshot(db) == before


def test_delete_removes_the_template_and_its_versions(person, db):
    ann = person()
    template = create_template(ann)
    path = f"/api/templates/{template['id']}"
    ann.put(path, {"name": "n", "definition": changed(), "version": 1})
    stale = ann.client.delete(path, headers={"If-Match": '"v1"'})
    assert stale.status_code == 412
    assert ann.delete(path).status_code == 204
    assert ann.get(path).status_code == 404
    assert ann.delete(path).status_code == 404
    assert stored(db, template["id"]) == (None, [])


# -- listing ----------------------------------------------------------------------------------
def test_pages_follow_name_order_with_a_cursor_and_total(person, db):
    ann = person(plan=Plan.PRO)
    names = ["delta", "alpha", "echo", "charlie", "bravo"]
    for name in names:
        create_template(ann, name)
    seen, cursor = [], None
    while True:
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = ann.get(f"/api/templates?{query}")
        assert page.status_code == 200, page.text
        assert page.json["total"] == 5 and page.json["limit"] == 2
        seen.append([t["name"] for t in page.json["templates"]])
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    assert seen == [["alpha", "bravo"], ["charlie", "delta"], ["echo"]]
    assert "definition" not in page.json["templates"][0]
    default = ann.get("/api/templates").json
    assert [t["name"] for t in default["templates"]] == sorted(names)
    assert default["next_cursor"] is None


def test_an_empty_page_still_counts_the_list(person):
    ann = person(plan=Plan.PRO)
    assert ann.get("/api/templates").json == {"templates": [], "total": 0, "limit": 20,
                                              "next_cursor": None}
    for name in ("alpha", "bravo"):
        create_template(ann, name)
    past_the_end = encode_cursor("zzz", uuid.uuid4())
    page = ann.get(f"/api/templates?cursor={past_the_end}").json
    assert (page["templates"], page["total"], page["next_cursor"]) == ([], 2, None)


@pytest.mark.parametrize("query, status, code, field", [
    ("limit=0", 422, "invalid_value", "limit"),
    ("limit=101", 422, "invalid_value", "limit"),
    ("limit=1e1", 422, "invalid_value", "limit"),
    ("limit=" + "9" * 5000, 422, "invalid_value", "limit"),
    ("cursor=not-a-cursor", 422, "invalid_cursor", "cursor"),
    ("team_id=zzz", 422, "invalid_value", "team_id"),
    (f"team_id={FRESH}", 404, None, "team_id"),
])
def test_bad_list_parameters(person, query, status, code, field):
    result = person().get(f"/api/templates?{query}")
    assert result.status_code == status, result.text
    assert result.json["field"] == field
    if status == 422:
        assert result.json["code"] == "invalid_request"
        assert fields(result) == {field: code}


# -- two users --------------------------------------------------------------------------------
CALLS = [
    ("GET", "", None),
    ("PUT", "", {"name": "mine now", "definition": DEFINITION, "version": 1}),
    ("DELETE", "", None),
    ("GET", "/versions", None),
    ("GET", "/versions/1", None),
    ("POST", "/preview", {"answers": {}}),
]


@pytest.mark.parametrize("method, suffix, body", CALLS)
def test_another_users_template_is_404_on_every_verb_and_changes_nothing(
        person, db, method, suffix, body):
    ann, bob = person(), person()
    template = create_template(ann)
    before = snapshot(db)
    kwargs = {} if body is None else {"json": body}
    result = bob.client.request(method, f"/api/templates/{template['id']}{suffix}", **kwargs)
    assert result.status_code == 404, result.text
    nowhere = bob.client.request(method, f"/api/templates/{FRESH}{suffix}", **kwargs)
    assert result.json == nowhere.json
    assert snapshot(db) == before
    assert [t["id"] for t in bob.get("/api/templates").json["templates"]] == []


def test_signed_out_is_401(client):
    assert client.get("/api/templates").status_code == 401
    assert client.post("/api/templates", json={}).status_code == 401


# -- teams ----------------------------------------------------------------------------------
def test_team_templates_are_shared_and_only_owner_and_managers_change_them(person, db):
    owner = person(plan=Plan.TEAM)
    admin, member, outsider = person(), person(), person()
    team = make_team(owner, admin=[admin], member=[member])
    template = create_template(member, "by member", team_id=team)
    path = f"/api/templates/{template['id']}"
    assert template["team_id"] == team

    for someone in (owner, admin, member):
        listed = someone.get(f"/api/templates?team_id={team}").json
        assert [t["id"] for t in listed["templates"]] == [template["id"]]
        assert someone.get(path).status_code == 200
    assert outsider.get(path).status_code == 404
    assert outsider.get(f"/api/templates?team_id={team}").status_code == 404

    # The member created it: they may change it; another member may not.
    other = create_template(owner, "by owner", team_id=team)
    other_path = f"/api/templates/{other['id']}"
    before = snapshot(db)
    put = member.put(other_path, {"name": "x", "definition": DEFINITION, "version": 1})
    assert put.status_code == 403 and put.json["code"] == "forbidden"
    assert member.delete(other_path).status_code == 403
    assert snapshot(db) == before
    assert member.put(path, {"name": "mine", "definition": DEFINITION, "version": 1}).status_code \
        == 200
    assert admin.put(other_path, {"name": "y", "definition": DEFINITION,
                                  "version": 1}).status_code == 200
    assert admin.delete(path).status_code == 204
    assert owner.delete(other_path).status_code == 204


def test_creating_in_a_team_needs_membership(person, db):
    owner, outsider = person(plan=Plan.TEAM), person()
    team = make_team(owner)
    for team_id in (team, FRESH):
        result = outsider.post("/api/templates", {"name": "t", "definition": DEFINITION,
                                                  "team_id": team_id})
        assert result.status_code == 404
        assert result.json["field"] == "$.team_id"
    assert snapshot(db) == {"templates": [], "template_versions": []}


def test_team_templates_need_the_team_owners_plan(person, db):
    owner = person(plan=Plan.TEAM)
    member = person()
    team = make_team(owner, member=[member])
    with db.session() as session:
        session.execute(sa.update(Subscription).where(
            Subscription.user_id == uuid.UUID(owner.id)).values(
            status=SubscriptionStatus.CANCELED))
        session.commit()
    result = member.post("/api/templates", {"name": "t", "definition": DEFINITION,
                                            "team_id": team})
    assert result.status_code == 402
    assert result.json["code"] == "plan_required"


def test_the_list_holds_my_templates_and_my_teams_ones(person):
    owner, member, stranger = person(plan=Plan.TEAM), person(), person()
    team = make_team(owner, member=[member])
    mine = create_template(member, "mine")
    shared = create_template(owner, "shared", team_id=team)
    create_template(owner, "owner's own")
    create_template(stranger, "stranger's")
    listed = member.get("/api/templates").json
    assert [t["id"] for t in listed["templates"]] == [mine["id"], shared["id"]]
    assert listed["total"] == 2

