"""``POST /api/templates/{id}/form``: the server decides, with the same core code as a
job and through the evaluator, which questions apply and what their defaults are now."""

from __future__ import annotations

from typing import Any

import pytest

from launchpad_core.isolation.children import MIB, IsolationLimits
from launchpad_web.evaluation import EvaluationSettings

from .test_templates import create_template, people

FORM = {
    "name": "form",
    "variables": [
        {"name": "kind", "type": "str", "choices": ["lib", "app"], "default": "lib"},
        {"name": "cli", "type": "bool", "default": "{{ kind == 'app' }}",
         "when": "{{ kind == 'app' }}"},
        {"name": "project", "default": "{{ kind }}-project"},
        {"name": "port", "type": "int", "default": 8000},
        {"name": "token", "secret": True, "default": "s3cret"},
    ],
    "files": [{"path": "a.txt", "content": "{{ project }}"}],
}


@pytest.fixture
def person(new_client, signup, db):
    return people(new_client, signup, db)


def form(who: Any, template: dict, body: dict) -> Any:
    return who.post(f"/api/templates/{template['id']}/form", body)


def questions(result: Any) -> dict[str, tuple[bool, Any]]:
    assert result.status_code == 200, result.text
    return {q["name"]: (q["applies"], q["value"]) for q in result.json["questions"]}


def test_defaults_and_when_follow_the_answers_so_far(person):
    ann = person()
    template = create_template(ann, definition=FORM)
    assert questions(form(ann, template, {"answers": {}})) == {
        "kind": (True, "lib"), "cli": (False, False), "project": (True, "lib-project"),
        "port": (True, 8000), "token": (True, None)}
    now = questions(form(ann, template, {"answers": {"kind": "app"}}))
    assert (now["cli"], now["project"]) == ((True, True), (True, "app-project"))


def test_problems_are_at_their_answer_and_the_rest_still_resolves(person):
    ann = person()
    template = create_template(ann, definition=FORM)
    result = form(ann, template, {"answers": {"kind": "app", "port": "eighty"},
                                  "as_text": True})
    assert [(p["code"], p["field"]) for p in result.json["problems"]] == [
        ("invalid_type", "$.answers.port")]
    assert questions(result)["project"] == (True, "app-project")
    typed = form(ann, template, {"answers": {"port": "8080", "cli": "yes", "kind": "app"},
                                 "as_text": True})
    assert typed.json["problems"] == []
    assert questions(typed)["port"] == (True, 8080)


def test_a_secret_answer_is_never_sent_back(person):
    ann = person()
    template = create_template(ann, definition=FORM)
    result = form(ann, template, {"answers": {"token": "hunter2"}})
    assert "hunter2" not in result.text
    assert questions(result)["token"] == (True, None)


def test_someone_elses_template_and_a_missing_version_are_404(person):
    ann, bob = person(), person()
    template = create_template(ann, definition=FORM)
    assert form(bob, template, {"answers": {}}).status_code == 404
    missing = form(ann, template, {"answers": {}, "version": 7})
    assert (missing.status_code, missing.json["field"]) == (404, "$.version")


def test_an_older_version_answers_with_its_own_questions(person):
    ann = person()
    template = create_template(ann, definition=FORM)
    changed = {**FORM, "variables": [{"name": "only", "default": "x"}]}
    saved = ann.put(f"/api/templates/{template['id']}", {
        "name": "form", "definition": changed, "version": 1})
    assert saved.status_code == 200, saved.text
    assert set(questions(form(ann, template, {"answers": {}}))) == {"only"}
    assert "kind" in questions(form(ann, template, {"answers": {}, "version": 1}))


def test_a_looping_when_is_bounded_by_the_evaluator(make_app, new_client, signup, db):
    quick = IsolationLimits(cpu_seconds=1, memory_bytes=256 * MIB, wall_seconds=10)
    app = make_app(evaluation=EvaluationSettings(check_isolation=quick))
    ann = people(lambda: new_client(app), signup, db)()
    loops = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
    template = create_template(ann, definition={
        "name": "w", "variables": [{"name": "v", "default": "x", "when": loops}],
        "files": [{"path": "a.txt", "content": "x"}]})
    result = form(ann, template, {"answers": {}})
    assert result.status_code == 422, result.text
    assert result.json["code"] in ("cpu_limit", "render_timeout", "timeout")
