"""The one evaluation boundary: every piece of a user's template code the API runs
(saving, answer checking, previews) runs in a limited child, never in a request
thread; one account cannot take every evaluator, and a slow evaluation holds no
database lock (the embedded SQLite default included)."""

from __future__ import annotations

import threading
import time
from typing import Any

import attrs
import pytest

from launchpad_core import Launchpad
from launchpad_core.isolation.children import MIB, IsolationLimits
from launchpad_web.db import make_session_factory
from launchpad_web.evaluation import EvaluationSettings
from launchpad_web.jobs.models import GenerationJob
from launchpad_worker.compose import service_app

from .test_quotas import call, count_rows, signed_in

LOOPS = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
SLOW_CHILD = IsolationLimits(cpu_seconds=2, memory_bytes=512 * MIB, wall_seconds=20)
#: For a preview that must outlast another account's requests even on a loaded machine,
#: where creating a template (its check runs in an evaluator too) can take a second.
SLOWER_CHILD = IsolationLimits(cpu_seconds=6, memory_bytes=512 * MIB, wall_seconds=30)
QUICK_CHILD = IsolationLimits(cpu_seconds=1, memory_bytes=256 * MIB, wall_seconds=10)


@pytest.fixture
def served(committing_engine, serve, settings):
    """``served(**evaluation) -> base URL``: the app on a real server and a database of
    its own (commits are real), with these evaluation settings."""

    def start(**evaluation: Any) -> str:
        changed = attrs.evolve(settings, evaluation=EvaluationSettings(**evaluation),
                               jobs=attrs.evolve(settings.jobs, immediate=False))
        return serve(service_app(changed, session_factory=make_session_factory(committing_engine)))

    return start


def new_template(base: str, cookie: str, definition: dict[str, Any]) -> str:
    status, body, _ = call(base, "POST", "/api/templates",
                           {"name": definition["name"], "definition": definition}, cookie)
    assert status == 201, body
    return body["id"]


def slow(name: str = "slow") -> dict[str, Any]:
    return {"name": name, "files": [{"path": "a.txt", "content": LOOPS}]}


def quick(name: str = "quick") -> dict[str, Any]:
    return {"name": name, "variables": [{"name": "who", "default": "{{ 'x' | upper }}"}],
            "files": [{"path": "{{ who }}.txt", "content": "{{ who }}"}]}


def test_template_code_in_defaults_and_validators_is_bounded_and_located(served,
                                                                         committing_engine):
    base = served(check_isolation=QUICK_CHILD)
    _user, cookie = signed_in(base)
    looping_default = new_template(base, cookie, {
        "name": "default", "variables": [
            {"name": "n", "default": LOOPS}],
        "files": [{"path": "a.txt", "content": "{{ n }}"}]})
    looping_validator = new_template(base, cookie, {
        "name": "validator", "variables": [
            {"name": "n", "default": "x", "validator": LOOPS}],
        "files": [{"path": "a.txt", "content": "{{ n }}"}]})
    for template_id in (looping_default, looping_validator):
        status, problem, _ = call(base, "POST", "/api/generate",
                                  {"template_id": template_id, "answers": {}}, cookie)
        assert status == 422, problem
        assert problem["code"] in ("cpu_limit", "timeout", "render_timeout",
                                   "limit_exceeded"), problem
        assert problem["field"] == "$.answers"
    assert count_rows(committing_engine, GenerationJob) == 0
    status, health, _ = call(base, "GET", "/api/health")
    assert status == 200, health


def test_a_memory_bomb_in_a_default_is_refused_in_the_child(served):
    base = served(check_isolation=QUICK_CHILD)
    _user, cookie = signed_in(base)
    template_id = new_template(base, cookie, {
        "name": "bomb", "variables": [{"name": "s", "default": "{{ 'x' * 10**9 }}"}],
        "files": [{"path": "a.txt", "content": "{{ s }}"}]})
    status, problem, _ = call(base, "POST", "/api/generate",
                              {"template_id": template_id, "answers": {}}, cookie)
    assert status == 422, problem
    assert problem["errors"][0]["field"] == "$.answers.s", problem


def test_one_account_gets_429_beyond_its_evaluations_others_are_served(served):
    base = served(slots=4, per_user=1, preview_isolation=SLOW_CHILD)
    _ann, ann = signed_in(base)
    _bob, bob = signed_in(base)
    slow_id = new_template(base, ann, slow())
    ann_quick, bob_quick = new_template(base, ann, quick()), new_template(base, bob, quick())
    first: list[Any] = []
    running = threading.Thread(target=lambda: first.append(call(
        base, "POST", f"/api/templates/{slow_id}/preview", {"answers": {}}, ann)))
    running.start()
    time.sleep(0.5)
    status, problem, headers = call(base, "POST", f"/api/templates/{ann_quick}/preview",
                                    {"answers": {}}, ann)
    assert (status, problem["code"]) == (429, "too_many_evaluations"), problem
    assert int(headers["Retry-After"]) >= 1
    status, preview, _ = call(base, "POST", f"/api/templates/{bob_quick}/preview",
                              {"answers": {}}, bob)
    assert status == 200, preview
    assert [f["path"] for f in preview["files"]] == ["X.txt"]
    assert running.is_alive(), "the slow preview ended before the checks: raise its limits"
    running.join(timeout=30)
    status, problem, _ = first[0]
    assert status == 422 and problem["code"] in ("cpu_limit", "render_timeout"), problem
    status, preview, _ = call(base, "POST", f"/api/templates/{ann_quick}/preview",
                              {"answers": {}}, ann)
    assert status == 200, preview  # the account's slot is free again


def test_every_evaluator_busy_answers_503_with_retry_after(served):
    base = served(slots=1, per_user=2, per_address=2, queue_seconds=0.2,
                  preview_isolation=SLOW_CHILD)  # (both from 127.0.0.1: one address)
    _ann, ann = signed_in(base)
    _bob, bob = signed_in(base)
    slow_id, bob_quick = new_template(base, ann, slow()), new_template(base, bob, quick())
    running = threading.Thread(target=call, args=(
        base, "POST", f"/api/templates/{slow_id}/preview", {"answers": {}}, ann))
    running.start()
    time.sleep(0.5)
    status, problem, headers = call(base, "POST", f"/api/templates/{bob_quick}/preview",
                                    {"answers": {}}, bob)
    assert (status, problem["code"]) == (503, "evaluators_busy"), problem
    assert int(headers["Retry-After"]) >= 1
    assert running.is_alive()
    running.join(timeout=30)


def test_accounts_of_one_address_share_its_bound(served):
    """Several accounts from one client address (one person signing up again) together
    run at most ``per_address`` evaluations; each account's own bound is not enough."""
    base = served(slots=4, per_user=2, per_address=2, preview_isolation=SLOW_CHILD)
    people = [signed_in(base)[1] for _ in range(3)]
    slow_ids = [new_template(base, cookie, slow()) for cookie in people[:2]]
    quick_id = new_template(base, people[2], quick())
    running = [threading.Thread(target=call, args=(
        base, "POST", f"/api/templates/{slow_id}/preview", {"answers": {}}, cookie))
        for slow_id, cookie in zip(slow_ids, people[:2], strict=True)]
    for thread in running:
        thread.start()
    time.sleep(0.5)
    status, problem, headers = call(base, "POST", f"/api/templates/{quick_id}/preview",
                                    {"answers": {}}, people[2])
    assert (status, problem["code"]) == (429, "too_many_evaluations"), problem
    assert "from one address" in problem["detail"] and int(headers["Retry-After"]) >= 1
    for thread in running:
        thread.join(timeout=30)
    status, _body, _ = call(base, "POST", f"/api/templates/{quick_id}/preview",
                            {"answers": {}}, people[2])
    assert status == 200


def test_a_slow_evaluation_holds_no_database_lock(served, committing_engine):
    """SQLite serialises writers: were the preview's transaction open while it renders,
    every other account's write would wait for it (and fail after the busy timeout)."""
    base = served(slots=4, per_user=2, preview_isolation=SLOWER_CHILD)
    _ann, ann = signed_in(base)
    slow_id = new_template(base, ann, slow())
    _bob, bob = signed_in(base)
    running = threading.Thread(target=call, args=(
        base, "POST", f"/api/templates/{slow_id}/preview", {"answers": {}}, ann))
    running.start()
    time.sleep(0.5)
    answers = []
    for index in range(2):  # the free plan's three templates
        answers.append(call(base, "POST", "/api/templates", {
            "name": f"b{index}", "definition": quick(f"b{index}")}, bob)[0])
        answers.append(call(base, "GET", "/api/templates", cookie=bob)[0])
        answers.append(call(base, "GET", "/api/me", cookie=bob)[0])
    assert running.is_alive(), "the other account waited for the slow preview to end"
    assert answers == [201, 200, 200] * 2
    running.join(timeout=30)


def test_the_api_process_never_runs_template_code(served, monkeypatch):
    """Checking, answering and previewing all work with the core's evaluating entry
    points broken in the API process: they ran in the evaluators (fresh processes of
    the fork server, which the monkeypatch does not reach)."""

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("template code evaluated in the API process")

    for name in ("problems", "resolve_answers", "render", "check"):
        monkeypatch.setattr(Launchpad, name, refuse)
    base = served()
    _ann, ann = signed_in(base)
    template_id = new_template(base, ann, quick())
    status, preview, _ = call(base, "POST", f"/api/templates/{template_id}/preview",
                              {"answers": {"who": "me"}}, ann)
    assert (status, [f["content"] for f in preview["files"]]) == (200, ["me"]), preview
    status, job, _ = call(base, "POST", "/api/generate",
                          {"template_id": template_id, "answers": {}}, ann)
    assert (status, job["answers"]) == (202, {}), job
