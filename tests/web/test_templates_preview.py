"""Previews: real renders in a resource-limited child process, and hostile templates
failing cleanly with a stable code and the template file concerned."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from launchpad_core import Limits
from launchpad_core.isolation.children import MIB, IsolationLimits
from launchpad_web.billing.models import Plan
from launchpad_web.evaluation import EvaluationSettings

from .test_templates import DEFINITION, Person, create_template, make_team, people

PNG = b"\x89PNG\r\n\x1a\n\x00\xff\xfe"


@pytest.fixture
def person(new_client, signup, db):
    return people(new_client, signup, db)


def preview(who: Person, template: dict[str, Any], body: dict[str, Any]) -> Any:
    return who.post(f"/api/templates/{template['id']}/preview", body)


def test_preview_returns_every_file_with_content_size_digest_and_mode(person):
    ann = person()
    definition = {
        **DEFINITION,
        "files": [
            *DEFINITION["files"],
            {"path": "logo.png", "content": base64.b64encode(PNG).decode(),
             "encoding": "base64"},
            {"path": "bin/run.sh", "content": "echo {{ project }}", "mode": "0755"},
            {"path": "{{ project }}/logs/"},
        ],
    }
    template = create_template(ann, definition=definition)
    result = preview(ann, template, {"answers": {"project": "apollo"}})
    assert result.status_code == 200, result.text
    files = {f["path"]: f for f in result.json["files"]}
    assert files["apollo/README.md"] == {
        "path": "apollo/README.md", "content": "# apollo\n", "encoding": "utf-8", "size": 9,
        "sha256": hashlib.sha256(b"# apollo\n").hexdigest(), "mode": None, "kind": "file"}
    assert files["apollo/logs"] == {
        "path": "apollo/logs", "content": "", "encoding": "utf-8", "size": 0, "sha256": None,
        "mode": None, "kind": "directory"}
    assert files["logo.png"]["encoding"] == "base64"
    assert base64.b64decode(files["logo.png"]["content"]) == PNG
    assert files["logo.png"]["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert files["bin/run.sh"]["mode"] == 0o755
    assert result.json["version"] == 1
    assert result.json["total_bytes"] == 9 + len(PNG) + len("echo apollo")


def test_defaults_fill_missing_answers(person):
    ann = person()
    result = preview(ann, create_template(ann), {})
    assert [f["path"] for f in result.json["files"]] == ["rocket/README.md"]


def test_every_answer_problem_is_reported_at_its_path(person):
    ann = person()
    definition = {
        "name": "t",
        "variables": [{"name": "count", "type": "int"},
                      {"name": "color", "type": "choice", "choices": ["red", "blue"]},
                      {"name": "slug", "pattern": "^[a-z]+$"}],
        "files": [{"path": "x.txt", "content": "{{ count }}"}],
    }
    template = create_template(ann, definition=definition)
    result = preview(ann, template, {"answers": {"count": "many", "color": "green",
                                                 "slug": "NO", "nope": 1}})
    assert result.status_code == 422, result.text
    assert result.json["code"] == "invalid_answers"
    assert sorted(e["field"] for e in result.json["errors"]) == [
        "$.answers.color", "$.answers.count", "$.answers.nope", "$.answers.slug"]


def test_an_older_version_can_be_previewed(person):
    ann = person()
    template = create_template(ann)
    newer = {**DEFINITION, "files": [{"path": "NEW.md", "content": "new"}]}
    path = f"/api/templates/{template['id']}"
    assert ann.put(path, {"name": "n", "definition": newer, "version": 1}).status_code == 200
    assert [f["path"] for f in preview(ann, template, {}).json["files"]] == ["NEW.md"]
    old = preview(ann, template, {"version": 1})
    assert [f["path"] for f in old.json["files"]] == ["rocket/README.md"]
    assert old.json["version"] == 1
    missing = preview(ann, template, {"version": 7})
    assert (missing.status_code, missing.json["field"]) == (404, "$.version")
    for number in (0, 2**31, 2**40):
        impossible = preview(ann, template, {"version": number})
        assert (impossible.status_code, impossible.json["field"]) == (422, "$.version")


def test_team_members_may_preview_team_templates(person):
    owner, member = person(plan=Plan.TEAM), person()
    team = make_team(owner, member=[member])
    template = create_template(owner, team_id=team)
    assert preview(member, template, {"answers": {"project": "x"}}).status_code == 200


# -- hostile templates ----------------------------------------------------------------------
LOOPS = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
QUICK_RENDER = Limits(max_files=50, max_file_bytes=64 * 1024, max_total_bytes=100_000,
                      render_seconds=60)
QUICK_CHILD = IsolationLimits(cpu_seconds=1, memory_bytes=512 * MIB, wall_seconds=20)


@pytest.fixture
def hosted(make_app, new_client, signup, db):
    """``hosted(render=..., isolation=...)``: a user on an app with these preview limits."""

    def make(render: Limits = QUICK_RENDER, isolation: IsolationLimits = QUICK_CHILD) -> Person:
        app = make_app(evaluation=EvaluationSettings(preview=render, preview_isolation=isolation))
        return people(lambda: new_client(app), signup, db)(plan=Plan.PRO)

    return make


def hostile(who: Person, *files: dict[str, Any], answers: Any = None) -> Any:
    definition = {"name": "evil", "variables": [{"name": "where", "default": "x"}],
                  "files": list(files)}
    template = create_template(who, definition=definition)
    result = preview(who, template, {"answers": answers or {}})
    assert result.status_code == 422, result.text
    return result.json


def test_nested_loops_hit_the_cpu_limit(hosted):
    problem = hostile(hosted(), {"path": "slow.txt", "content": LOOPS})
    assert problem["code"] == "cpu_limit"
    assert problem["title"] == "The template could not be rendered"


def test_nested_loops_hit_the_render_deadline(hosted):
    who = hosted(render=Limits(render_seconds=0.3),
                 isolation=IsolationLimits(cpu_seconds=30, wall_seconds=30))
    problem = hostile(who, {"path": "slow.txt", "content": LOOPS})
    assert problem["code"] == "render_timeout"
    assert "0.3 seconds" in problem["detail"]


def test_the_wall_clock_kills_a_long_render(hosted):
    who = hosted(render=Limits(render_seconds=120),
                 isolation=IsolationLimits(cpu_seconds=60, wall_seconds=1))
    assert hostile(who, {"path": "slow.txt", "content": LOOPS})["code"] == "timeout"


def test_a_memory_bomb_hits_the_memory_limit_with_the_source(hosted):
    bomb = ("{% set ns = namespace(keep=[]) %}{% for i in range(100000) %}"
            "{{ ns.keep.append(range(100000)|list) }}{% endfor %}")
    who = hosted(isolation=IsolationLimits(cpu_seconds=20, memory_bytes=256 * MIB,
                                           wall_seconds=30))
    problem = hostile(who, {"path": "bomb.txt", "content": bomb})
    assert problem["code"] == "memory_limit"
    assert problem["source"] == "bomb.txt"


def test_a_sandbox_escape_is_refused_with_the_source(hosted):
    problem = hostile(hosted(), {"path": "evil.txt", "content": "{{ ''.__class__.__mro__ }}"})
    assert problem["code"] == "sandbox_violation"
    assert problem["source"] == "evil.txt"


def test_an_answer_that_escapes_the_tree_is_an_unsafe_path(hosted):
    problem = hostile(hosted(), {"path": "{{ where }}/x.txt"}, answers={"where": "../.."})
    assert problem["code"] == "unsafe_path"


def test_a_preview_stays_within_its_size_limits(hosted):
    big = {"path": "big{{ n }}.txt", "content": "{{ 'x' * 60000 }}"}
    problem = hostile(hosted(), *({**big, "path": f"big{n}.txt"} for n in range(3)))
    assert problem["code"] == "limit_exceeded"


def test_a_draft_definition_is_previewed_unsaved_and_checked_as_a_save(person):
    ann = person()
    template = create_template(ann)
    draft = {**DEFINITION,
             "files": [{"path": "{{ project }}/NOTES.md", "content": "hi {{ project }}"}]}
    result = preview(ann, template, {"answers": {"project": "apollo"}, "definition": draft})
    assert result.status_code == 200, result.text
    assert [(f["path"], f["content"]) for f in result.json["files"]] == [
        ("apollo/NOTES.md", "hi apollo")]
    assert ann.get(f"/api/templates/{template['id']}").json["definition"] == template["definition"]

    broken = {**DEFINITION, "files": [{"path": "a.txt", "content": "ok\n{% if %}"}]}
    result = preview(ann, template, {"answers": {"project": "apollo"}, "definition": broken})
    assert result.status_code == 422, result.text
    assert result.json["code"] == "invalid_definition"
    assert [e["field"] for e in result.json["errors"]] == ["$.definition.files[0].content"]
    assert result.json["errors"][0]["message"].startswith("line 2: ")


def test_a_preview_says_which_files_it_left_out_and_why(person):
    ann = person()
    template = create_template(ann)
    draft = {**DEFINITION, "settings": {"exclude": ["*.bak"]}, "files": [
        {"path": "{{ project }}/README.md", "content": "# {{ project }}"},
        {"path": "Dockerfile", "content": "FROM python", "when": "{{ project == 'docker' }}"},
        {"path": "{% if project == 'x' %}docs{% endif %}/index.md", "content": "docs"},
        {"path": "old.bak", "content": "old"},
    ]}
    result = preview(ann, template, {"answers": {"project": "apollo"}, "definition": draft})
    assert result.status_code == 200, result.text
    assert [f["path"] for f in result.json["files"]] == ["apollo/README.md"]
    assert result.json["skipped"] == [
        {"path": "Dockerfile", "reason": "when"},
        {"path": "{% if project == 'x' %}docs{% endif %}/index.md", "reason": "empty_path"},
        {"path": "old.bak", "reason": "excluded"},
    ]
