"""Two users, two teams: every route and verb called with the other side's ids.

Alice and Bob each own a team with a member and a pending invitation, and an API
token. Each entry of :data:`CALLS` is called by one of them with the OTHER side's ids:
it must answer 404, the same document as an id that exists nowhere, and leave every
table as it was.
Calls on one's own team with a sub-resource id of the other team (a member, an
invitation) are checked the same way.

To cover a new route, add a :class:`Call`; its path template names ids from
:class:`Side` (``{team}``, ``{member}``, ``{invitation}``, ``{token}``); a route under
:data:`COVERED_PREFIXES` without one fails ``test_every_route_with_ids_is_in_the_matrix``.

An invitation link's token is not an id but a secret mailed to one address: the
other side's link (:data:`LINK_CALLS`) answers 403 ``invitation_for_another_email``
and changes nothing; a token that exists nowhere answers 404.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from launchpad_web.billing.models import Plan
from launchpad_web.models import metadata

from .conftest import OUTBOX
from .test_openapi import router_operations
from .test_teams import Person, add_member, create_team, people

pytestmark = pytest.mark.slow  # hundreds of requests: the full run only


@attrs.frozen
class Call:
    """One request: a path template and a JSON body whose ``"{name}"`` strings are ids."""

    method: str
    path: str
    body: Any = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}" + (f" {json.dumps(self.body)}" if self.body else "")

    def placeholders(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.path + json.dumps(self.body))

    def send(self, who: Person, ids: dict[str, str]) -> Any:
        kwargs = {} if self.body is None else {"json": fill(self.body, ids)}
        return who.client.request(self.method, self.path.format(**ids), **kwargs)


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: fill(item, ids) for key, item in value.items()}
    if isinstance(value, str) and (match := re.fullmatch(r"\{(\w+)\}", value)):
        return ids[match[1]]
    return value


UNREACHABLE = "http://127.0.0.1:9/nobody/template.git"  # the discard port: refused at once
DEFINITION = {
    "name": "hello",
    "variables": [{"name": "project", "default": "rocket"}],
    "files": [{"path": "{{ project }}/README.md", "content": "# {{ project }}\n"}],
}


def template_calls(key: str) -> tuple[Call, ...]:
    """Every call on one template, ``{key}`` naming which of a side's templates."""
    path = f"/api/templates/{{{key}}}"
    return (
        Call("GET", path),
        Call("PUT", path, {"name": "taken over", "definition": DEFINITION}),
        Call("DELETE", path),
        Call("GET", f"{path}/versions"),
        Call("GET", f"{path}/versions/{{number}}"),
        Call("POST", f"{path}/preview", {"answers": {"project": "x"}}),
        Call("POST", f"{path}/form", {"answers": {"project": "x"}}),
        Call("GET", f"{path}/export"),
        Call("GET", f"{path}/diff"),
        Call("POST", "/api/generate", {"template_id": f"{{{key}}}", "answers": {}}),
        Call("GET", f"{path}/fleet"),
        Call("GET", f"{path}/source"),
        Call("POST", f"{path}/reimport", {}),
        Call("POST", f"{path}/follow", {"following": True}),
        Call("POST", f"{path}/fleet/update", {}),
    )


def project_calls(key: str) -> tuple[Call, ...]:
    """Every call on one project, ``{key}`` naming which of a side's projects."""
    path = f"/api/projects/{{{key}}}"
    update = f"{path}/updates/{{{key.replace('project', 'update')}}}"
    return (Call("GET", path), Call("DELETE", path), Call("POST", f"{path}/update", {}),
            Call("GET", f"{path}/updates"), Call("GET", update), Call("GET", f"{update}/patch"),
            Call("GET", f"{update}/conflicts"))


CALLS = (
    Call("GET", "/api/teams/{team}"),
    Call("PATCH", "/api/teams/{team}", {"name": "taken over"}),
    Call("DELETE", "/api/teams/{team}"),
    Call("POST", "/api/teams/{team}/invite", {"email": "intruder@example.org", "role": "owner"}),
    Call("GET", "/api/teams/{team}/invitations"),
    Call("DELETE", "/api/teams/{team}/invitations/{invitation}"),
    Call("PATCH", "/api/teams/{team}/members/{member}", {"role": "owner"}),
    Call("DELETE", "/api/teams/{team}/members/{member}"),
    Call("DELETE", "/api/tokens/{token}"),
    *template_calls("template"),
    *template_calls("team_template"),
    Call("POST", "/api/templates", {"name": "in", "definition": DEFINITION, "team_id": "{team}"}),
    Call("GET", "/api/templates?team_id={team}"),
    Call("GET", "/api/generate/{job}"),
    Call("GET", "/api/generate/{job}/download"),
    Call("GET", "/api/generate/{job}/events"),
    *project_calls("project"),
    *project_calls("team_project"),
    Call("GET", "/api/projects?team_id={team}"),
    Call("POST", "/api/templates/imports", {"source": UNREACHABLE, "team_id": "{team}"}),
    Call("GET", "/api/templates/imports/{import}"),
)
LINK_CALLS = (
    Call("GET", "/api/invitations/{invitation_token}"),
    Call("POST", "/api/invitations/{invitation_token}/accept"),
    Call("POST", "/api/invitations/{invitation_token}/decline"),
)
SUB_RESOURCE_CALLS = tuple(c for c in CALLS if c.path.startswith("/api/teams/{team}/")
                           and len(c.placeholders()) > 1)

COVERED_PREFIXES = ("/api/teams/", "/api/tokens/", "/api/templates/", "/api/generate/",
                    "/api/invitations/", "/api/projects/")
PARAMETERS = {"team_id": "team", "invitation_id": "invitation", "user_id": "member",
              "token_id": "token", "template_id": "template", "job_id": "job",
              "invitation_token": "invitation_token", "project_id": "project",
              "import_id": "import", "update_id": "update"}
"""The app's path parameter names, as :class:`Side` calls the ids."""
FIXED = {"number": "1"}
"""Placeholders that are not ids: the same value on both sides."""

SNAPSHOT_TABLES = ("users", "api_tokens", "teams", "team_memberships", "team_invitations",
                   "templates", "template_versions", "generation_jobs", "subscriptions",
                   "projects", "import_jobs", "template_sources", "update_jobs")


@attrs.frozen
class Side:
    """One user's world: their team with an admin and a pending invitation, an API
    token, a template of their own and one of the team's, a finished job of each, the
    projects those jobs made, and an import job (failed: its repository is unreachable)."""

    owner: Person
    ids: dict[str, str]


def created(result: Any, status: int = 201) -> dict[str, Any]:
    assert result.status_code == status, result.text
    return result.json


def make_side(person: Any, name: str) -> Side:
    owner, member = person(plan=Plan.TEAM), person()
    team = create_team(owner, name)
    add_member(team, owner, member, "admin")
    pending = f"pending-{name.lower()}@example.org"
    invited = created(owner.post(f"/api/teams/{team['id']}/invite", {"email": pending}))
    token = created(owner.post("/api/tokens", {"name": "ci"}))
    template = created(owner.post("/api/templates", {"name": "Mine", "definition": DEFINITION}))
    team_template = created(owner.post("/api/templates", {
        "name": "Ours", "definition": DEFINITION, "team_id": team["id"]}))
    job = created(owner.post("/api/generate", {"template_id": template["id"]}), 202)
    team_job = created(owner.post("/api/generate", {"template_id": team_template["id"]}), 202)
    projects = {p["job_id"]: p["id"] for p in owner.get("/api/projects").json["projects"]}
    imported = created(owner.post("/api/templates/imports", {"source": UNREACHABLE}), 202)
    updates = {}
    for key, made in (("update", template), ("team_update", team_template)):
        created(owner.put(f"/api/templates/{made['id']}", {
            "name": made["name"], "definition": DEFINITION, "version": 1}), 200)
        job_id = (job if key == "update" else team_job)["id"]
        updates[key] = created(owner.post(f"/api/projects/{projects[job_id]}/update", {}),
                               202)["id"]
    ids = {"team": team["id"], "member": member.id, "invitation": invited["id"],
           "invitation_token": OUTBOX.invitation_token(pending),
           "token": token["id"], "template": template["id"],
           "team_template": team_template["id"], "job": job["id"],
           "project": projects[job["id"]], "team_project": projects[team_job["id"]],
           "import": imported["id"], **updates, **FIXED}
    return Side(owner, ids)


@pytest.fixture
def jobs_app(make_app, settings):
    """Jobs run inside the request (Huey's immediate mode), so each side has a finished one."""
    return make_app(jobs=attrs.evolve(settings.jobs, immediate=True, cpu_seconds=2))


@pytest.fixture
def sides(jobs_app, new_client, signup, db) -> dict[str, Side]:
    person = people(lambda: new_client(jobs_app), signup, db)
    return {"alice": make_side(person, "Alpha"), "bob": make_side(person, "Bravo")}


def snapshot(db: Any) -> dict[str, list[tuple[Any, ...]]]:
    tables = {name: metadata.tables[name] for name in SNAPSHOT_TABLES}
    return {name: [tuple(row) for row in db.connection.execute(
        sa.select(table).order_by(*table.primary_key.columns))]
        for name, table in tables.items()}


def nowhere(call: Call) -> dict[str, str]:
    return {name: FIXED.get(name, str(uuid.uuid4())) for name in call.placeholders()}


def without_ids(doc: dict[str, Any], ids: dict[str, str]) -> str:
    """The problem document as text with the ids it was asked about taken out."""
    text = json.dumps(doc, sort_keys=True)
    for name, value in ids.items():
        if name not in FIXED:
            text = text.replace(value, "{" + name + "}")
    return text


@pytest.mark.parametrize("actor, victim", [("alice", "bob"), ("bob", "alice")])
@pytest.mark.parametrize("call", CALLS, ids=str)
def test_the_other_sides_ids_answer_404_and_change_nothing(sides, db, call, actor, victim):
    me, them = sides[actor], sides[victim]
    before = snapshot(db)
    result = call.send(me.owner, them.ids)
    assert result.status_code == 404, result.text
    assert snapshot(db) == before
    unknown = nowhere(call)
    assert without_ids(result.json, them.ids) == without_ids(
        call.send(me.owner, unknown).json, unknown)


@pytest.mark.parametrize("actor, victim", [("alice", "bob"), ("bob", "alice")])
@pytest.mark.parametrize("call", SUB_RESOURCE_CALLS, ids=str)
def test_the_other_teams_member_and_invitation_ids_in_my_team_answer_404(
        sides, db, call, actor, victim):
    me, them = sides[actor], sides[victim]
    before = snapshot(db)
    result = call.send(me.owner, {**them.ids, "team": me.ids["team"]})
    assert result.status_code == 404, result.text
    assert result.json["code"] == "not_found"
    assert snapshot(db) == before


@pytest.mark.parametrize("actor, victim", [("alice", "bob"), ("bob", "alice")])
@pytest.mark.parametrize("call", LINK_CALLS, ids=str)
def test_the_other_sides_invitation_link_is_refused_and_changes_nothing(
        sides, db, call, actor, victim):
    me, them = sides[actor], sides[victim]
    before = snapshot(db)
    result = call.send(me.owner, them.ids)
    assert (result.status_code, result.json["code"]) == (403, "invitation_for_another_email")
    assert snapshot(db) == before
    unknown = call.send(me.owner, {"invitation_token": "x" * 43})
    assert (unknown.status_code, unknown.json["code"]) == (404, "invitation_not_found")


def test_lists_show_only_ones_own_side(sides):
    for name, side in sides.items():
        teams = side.owner.get("/api/teams").json["teams"]
        assert [t["id"] for t in teams] == [side.ids["team"]], name
        templates = side.owner.get("/api/templates").json["templates"]
        assert sorted(t["id"] for t in templates) == sorted(
            [side.ids["template"], side.ids["team_template"]]), name
        projects = side.owner.get("/api/projects").json["projects"]
        assert sorted(p["id"] for p in projects) == sorted(
            [side.ids["project"], side.ids["team_project"]]), name
        for key in ("template", "team_template"):
            fleet = side.owner.get(f"/api/templates/{side.ids[key]}/fleet").json
            assert [r["project_id"] for r in fleet["projects"]] == [
                side.ids[key.replace("template", "project")]], name


def test_every_route_with_ids_is_in_the_matrix(app):
    """A new route under a covered prefix fails here until it gets a :class:`Call`."""
    covered = {(c.path, c.method.lower()) for c in (*CALLS, *LINK_CALLS)}
    for path, verb in router_operations(app):
        if not path.startswith(COVERED_PREFIXES) or "{" not in path:
            continue
        template = re.sub(r"\{(\w+)\}", lambda m: "{" + PARAMETERS.get(m[1], m[1]) + "}", path)
        assert (template, verb) in covered, f"{verb.upper()} {path} is missing from CALLS"
