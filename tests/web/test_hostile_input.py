"""Hostile input never reaches a 500: every JSON route refuses values nothing here can
hold (422 ``invalid_request`` naming each at its JSON path) before anything is stored;
headers, path and query parameters are parsed strictly; a stored lone surrogate (an
old SQLite row) is answered escaped; a value the database still refuses is a 422;
hostile template code ends in a child at its limit, as a 422 naming where it was.

Each test runs on SQLite and, when configured, PostgreSQL (the ``db`` fixture).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import attrs
import falcon
import pytest
import sqlalchemy as sa
from falcon import testing

from launchpad_web.evaluation import (
    CHECK_ISOLATION,
    CHECK_LIMITS,
    PREVIEW_ISOLATION,
    PREVIEW_LIMITS,
    EvaluationSettings,
)
from launchpad_web.jobs.models import GenerationJob
from launchpad_web.models import metadata
from launchpad_web.testing import insert_template

from .conftest import PASSWORD, Person, people

T0 = datetime(2030, 1, 1, tzinfo=UTC)
DEFINITION = {
    "name": "hello",
    "variables": [{"name": "project", "default": "rocket", "help": "the project's name"}],
    "files": [{"path": "{{ project }}/README.md", "content": "# {{ project }}\n"}],
}
LONE = "\ud800"

# (raw body, the expected (field, code) pairs)
HOSTILE_BODIES = {
    "nested 100,000 deep": (b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                            {("$", "too_deep")}),
    "nested 65 deep": (b'{"name": ' + b"[" * 64 + b"]" * 64 + b"}", {("$", "too_deep")}),
    "5,000-digit integer": (b'{"name": 1' + b"0" * 5000 + b"}",
                            {("$.name", "number_out_of_range")}),
    "integer past int64": (b'{"name": {"a": [9223372036854775808]}}',
                           {("$.name.a[0]", "number_out_of_range")}),
    "lone surrogate": (b'{"name": "a\\ud800b"}', {("$.name", "lone_surrogate")}),
    "lone surrogate in a key": (b'{"name": {"\\udc00": 1}}', {("$.name.?", "lone_surrogate")}),
    "NaN": (b'{"name": NaN}', {("$.name", "non_finite_number")}),
    "Infinity deep inside": (b'{"name": [1, {"x": -Infinity}, 1e999]}',
                             {("$.name[1].x", "non_finite_number"),
                              ("$.name[2]", "non_finite_number")}),
    "NUL": (b'{"name": "a\\u0000"}', {("$.name", "invalid_character")}),
}


@pytest.fixture
def person(new_client: Any, signup: Any, db: Any) -> Any:
    return people(new_client, signup, db)


def snapshot(db: Any) -> dict[str, int]:
    return {name: db.connection.execute(sa.select(sa.func.count()).select_from(table)).scalar()
            for name, table in metadata.tables.items()}


def problems(result: Any) -> set[tuple[str, str]]:
    return {(e["field"], e["code"]) for e in result.json["errors"]}


def json_operations(client: Any) -> list[tuple[str, str]]:
    """(method, path) of every operation with a JSON request body, from the OpenAPI
    document: a new route is covered without editing this test."""
    paths = client.get("/api/openapi.json").json["paths"]
    return [(method.upper(), path) for path, item in paths.items()
            for method, op in item.items() if "requestBody" in op]


def create_template(who: Person, definition: Any = DEFINITION) -> dict[str, Any]:
    result = who.post("/api/templates", {"name": "Hello", "definition": definition})
    assert result.status_code == 201, result.text
    return result.json


# -- bodies ---------------------------------------------------------------------------
@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_every_json_route_refuses_values_it_cannot_hold_before_storing(person, db, body):
    raw, expected = body
    ann = person()
    template_id = create_template(ann)["id"]
    operations = json_operations(ann.client)
    assert ("POST", "/api/generate") in operations and len(operations) >= 10
    before = snapshot(db)
    for method, template in operations:
        path = "/".join(str(uuid.uuid4()) if part.startswith("{") else part
                        for part in template.replace("{template_id}", template_id).split("/"))
        result = ann.client.request(method, path, body=raw,
                                    headers={"Content-Type": "application/json"})
        assert result.status_code == 422, (method, path, result.text)
        assert result.json["code"] == "invalid_request", (method, path)
        assert problems(result) == expected, (method, path)
    assert snapshot(db) == before


# JSON typed into a page's form: the new template's definition, a json answer
TYPED_JSON = {
    "nested 100,000 deep": "[" * 100_000 + "]" * 100_000,
    "5,000-digit integer": "1" + "0" * 5000,
    "lone surrogate": '["a\\ud800b"]',
    "NaN": "[NaN]",
    "NUL": '["a\\u0000"]',
}
JSON_ANSWER = {"name": "j", "variables": [{"name": "j", "type": "json", "default": {}}],
               "files": [{"path": "a.txt", "content": "{{ j }}"}]}


@pytest.mark.parametrize("text", TYPED_JSON.values(), ids=TYPED_JSON.keys())
def test_json_typed_into_a_page_is_read_as_strictly_as_a_body(person, db, text):
    ann = person()
    template_id = create_template(ann, JSON_ANSWER)["id"]
    before = snapshot(db)
    for path, fields in [("/templates/new", {"name": "x", "definition": text}),
                         (f"/templates/{template_id}/generate", {"answers.j": text})]:
        result = post_page(ann, path, fields)
        assert result.status_code == 422, (path, result.text[:2000])
    assert snapshot(db) == before


def test_a_nul_typed_into_a_page_form_is_refused_before_anything_is_stored(person, db):
    ann = person()
    template_id = create_template(ann)["id"]
    before = snapshot(db)
    for path, fields in [(f"/templates/{template_id}/generate", {"answers.project": "a\x00b"}),
                         ("/templates/new", {"name": "a\x00b", "definition": "{}"}),
                         ("/teams", {"name": "a\x00b"})]:
        result = post_page(ann, path, fields)
        assert result.status_code == 422, (path, result.text[:2000])
    assert snapshot(db) == before


def post_page(who: Person, path: str, fields: dict[str, str]) -> Any:
    """``fields`` posted with the CSRF token of the page at ``path``, as its form does."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', who.get(path).text).group(1)
    return who.client.post(path, body=urlencode({"csrf_token": token, **fields}),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})


def test_every_refused_value_is_listed_at_once(person):
    raw = b'{"name": "\\u0000", "definition": {"a": NaN, "b": "\\udfff", "c": 1' + b"0" * 30 + b"}}"
    result = person().client.post("/api/templates", body=raw,
                                  headers={"Content-Type": "application/json"})
    assert result.status_code == 422
    assert problems(result) == {("$.name", "invalid_character"),
                                ("$.definition.a", "non_finite_number"),
                                ("$.definition.b", "lone_surrogate"),
                                ("$.definition.c", "number_out_of_range")}


def test_values_at_the_limits_are_accepted(person):
    ann = person()
    definition = {**DEFINITION, "variables": [{
        "name": "big", "type": "int", "default": 9223372036854775807,
        "help": "a pair of surrogates is one character: \U0001f600",
    }]}
    deep: Any = "leaf"
    for _ in range(60):
        deep = [deep]
    template = create_template(ann, definition)
    read = ann.get(f"/api/templates/{template['id']}").json["definition"]["variables"][0]
    assert read["default"] == 9223372036854775807 and "\U0001f600" in read["help"]
    result = ann.post(f"/api/templates/{template['id']}/preview",
                      {"answers": {"big": -9223372036854775808}, "version": 1})
    assert result.status_code in (200, 422), result.text
    assert ann.post("/api/teams", {"name": deep}).status_code == 422  # a type error, at depth


# -- template code: each of the report's cases, bounded in a child, answered at its field --
def variable(**fields: Any) -> dict[str, Any]:
    return {"name": "code", "variables": [{"name": "v", **fields}],
            "files": [{"path": "a.txt", "content": "{{ v }}"}]}


def file(content: str) -> dict[str, Any]:
    return {"name": "code", "files": [{"path": "a.txt", "content": content}]}


BACKTRACKING = "(a|a)+$"  # 2**40 ways to fail on 40 a's and a '!'
TEMPLATE_CODE = {  # definition, answers, the route, (status, code, [(field, code)] or source)
    "backtracking pattern": (variable(pattern=BACKTRACKING), {"v": "a" * 40 + "!"},
                             "generate", (422, "invalid_answers",
                                          [("$.answers.v", "regex_timeout")])),
    "backtracking regex in a default": (
        variable(default="{{ ('a' * 40 ~ '!')|regex_search('" + BACKTRACKING + "') }}"), {},
        "generate", (422, "invalid_answers", [("$.answers.v", "regex_timeout")])),
    "backtracking regex in a file": (
        file("{{ ('a' * 40 ~ '!')|regex_replace('" + BACKTRACKING + "', 'b') }}"), {},
        "preview", (422, "regex_timeout", "a.txt")),
    "comment of gigabytes in a default": (
        variable(default="{{ 'x'|comment(prefix='y' * 100, prefix_count=10**7) }}"), {},
        "generate", (422, "invalid_answers", [("$.answers.v", "sandbox_violation")])),
    "comment of gigabytes in a file (saved: nothing is folded)": (
        file("{{ 'x'|comment(prefix='y' * 100, prefix_count=10**7) }}"), {},
        "preview", (422, "sandbox_violation", "a.txt")),
    "range bomb": (
        file("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}"
             "{% endfor %}"), {}, "preview", (422, "limit_exceeded", "a.txt")),
    "python tag in from_yaml": (
        file("{{ '!!python/object/apply:os.system [echo]'|from_yaml }}"), {},
        "preview", (422, "template_error", "a.txt")),
}


@pytest.fixture
def patient(make_app: Any, new_client: Any, signup: Any, db: Any) -> Any:
    """A user of an app whose evaluations have a minute of wall clock: a regular
    expression's limit is CPU time, which comes first even on a busy machine."""
    minute = EvaluationSettings(
        check=attrs.evolve(CHECK_LIMITS, render_seconds=60.0),
        check_isolation=attrs.evolve(CHECK_ISOLATION, wall_seconds=60.0),
        preview=attrs.evolve(PREVIEW_LIMITS, render_seconds=60.0),
        preview_isolation=attrs.evolve(PREVIEW_ISOLATION, wall_seconds=60.0))
    app = make_app(evaluation=minute)
    return people(lambda: new_client(app), signup, db)


@pytest.mark.parametrize("case", TEMPLATE_CODE.values(), ids=TEMPLATE_CODE.keys())
def test_template_code_from_the_report_is_answered_at_its_field_never_a_crash(patient, case,
                                                                            caplog):
    definition, answers, route, (status, code, where) = case
    ann = patient()
    template_id = create_template(ann, definition)["id"]
    if route == "generate":
        result = ann.post("/api/generate", {"template_id": template_id, "answers": answers})
    else:
        result = ann.post(f"/api/templates/{template_id}/preview", {"answers": answers})
    assert (result.status_code, result.json["code"]) == (status, code), result.text
    if isinstance(where, list):
        assert [(e["field"], e["code"]) for e in result.json["errors"]] == where
    else:
        assert result.json["source"] == where
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# -- versions, preconditions, parameters ----------------------------------------------
@pytest.mark.parametrize("if_match", ['"v' + "9" * 5000 + '"', '"v2147483648"', '"v0"',
                                      '"v\u0661"', "garbage", '"v-1"'],
                         ids=["5,000 digits", "2^31", "zero", "arabic digit", "garbage",
                              "negative"])
def test_an_if_match_naming_no_possible_version_is_412_and_changes_nothing(person, db,
                                                                         if_match):
    ann = person()
    template = create_template(ann)
    path = f"/api/templates/{template['id']}"
    before = snapshot(db)
    for method, body in [("PUT", {"name": "x", "definition": DEFINITION}), ("DELETE", None)]:
        result = ann.client.request(method, path, json=body, headers={"If-Match": if_match})
        assert (result.status_code, result.json["code"]) == (412, "invalid_precondition")
        assert result.json["field"] == "If-Match" and len(result.text) < 1000
    assert snapshot(db) == before


def test_a_well_formed_if_match_still_works(person):
    ann = person()
    path = f"/api/templates/{create_template(ann)['id']}"
    stale = ann.client.put(path, json={"name": "x", "definition": DEFINITION},
                           headers={"If-Match": 'W/"v2"'})
    assert (stale.status_code, stale.json["code"]) == (412, "version_conflict")
    assert ann.client.put(path, json={"name": "x", "definition": DEFINITION},
                          headers={"If-Match": '"v1"'}).status_code == 200


@pytest.mark.parametrize("number", ["9" * 5000, "2147483648", "0", "00", "1.0", "-1", "%C2%B9"],
                         ids=["5,000 digits", "2^31", "zero", "zeros", "decimal", "negative",
                              "superscript one"])
def test_a_version_path_that_cannot_exist_is_404(person, number):
    ann = person()
    template = create_template(ann)
    result = ann.get(f"/api/templates/{template['id']}/versions/{number}")
    assert (result.status_code, result.json["code"]) == (404, "not_found")
    assert ann.get(f"/api/templates/{template['id']}/versions/01").status_code == 200


@pytest.mark.parametrize("version, code", [(2**31, "invalid_value"), (2**62, "invalid_value"),
                                           (0, "invalid_value"), (True, "invalid_type"),
                                           (2**63, "number_out_of_range")])
def test_a_body_version_out_of_range_is_422_at_its_field(person, db, version, code):
    ann = person()
    template = create_template(ann)
    before = snapshot(db)
    for path, body in [
        ("/api/generate", {"template_id": template["id"], "version": version}),
        (f"/api/templates/{template['id']}/preview", {"version": version}),
        (f"/api/templates/{template['id']}", {"name": "x", "definition": DEFINITION,
                                              "version": version}),
    ]:
        method = "PUT" if path.endswith(template["id"]) else "POST"
        result = ann.client.request(method, path, json=body)
        assert result.status_code == 422, (path, result.text)
        assert problems(result) == {("$.version", code)}, path
    assert snapshot(db) == before


@pytest.mark.parametrize("cursor", [
    "A" * 5000,
    "",
    "W1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tb"
    "W1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tb" * 40,
    "WyJcdWQ4MDAiLCAiNWQxYjljNGUtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDBmN2U1Il0",  # ["\ud800", id]
    "WzEsICI1ZDFiOWM0ZS0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMGY3ZTUiXQ",  # [1, id]
], ids=["overlong", "empty", "deeply nested", "lone surrogate name", "numeric name"])
def test_a_cursor_not_given_out_is_422(person, cursor):
    result = person().get(f"/api/templates?cursor={cursor}")
    assert result.status_code == 422, result.text
    assert problems(result) == {("cursor", "invalid_cursor")}


# -- stored lone surrogates (SQLite keeps them; PostgreSQL refuses them) -----------------
def poison(db: Any, user_id: str) -> tuple[str, str]:
    """A template, its version and a job holding lone surrogates, written past the API."""
    definition = {**DEFINITION, "variables": [{**DEFINITION["variables"][0], "help": LONE}]}
    with db.session() as session:
        row = insert_template(session, owner_id=user_id, definition=definition, name="bad",
                              at=T0)
        job = GenerationJob(user_id=uuid.UUID(user_id), template_id=row.id,
                            template_version=1, answers={"project": LONE},
                            created_at=T0, updated_at=T0)
        session.add(job)
        session.commit()
        return str(row.id), str(job.id)


def test_a_stored_lone_surrogate_is_answered_escaped_never_500(person, db):
    ann = person()
    if db.backend == "postgresql":
        with pytest.raises(sa.exc.DataError):
            poison(db, ann.id)
        return
    template_id, job_id = poison(db, ann.id)
    for path in [f"/api/templates/{template_id}/versions", "/api/templates"]:
        assert ann.get(path).status_code == 200, path
    for path in [f"/api/templates/{template_id}", f"/api/templates/{template_id}/versions/1",
                 f"/api/generate/{job_id}", "/api/me/export"]:
        result = ann.get(path)
        assert result.status_code == 200, (path, result.text)
        text = result.content.decode("utf-8")  # strictly valid UTF-8 on the wire
        assert "\\ud800" in text, path  # the escape, read back as the same string
        assert LONE in json.dumps(result.json, ensure_ascii=False), path


# -- the database's own refusals ------------------------------------------------------
class OutOfRange:
    """A route writing a value its column cannot hold, which no check caught."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.db.execute(sa.text("SELECT CAST(:n AS integer)"), {"n": 2**40})


def test_a_value_the_database_refuses_is_422_unstorable_value(db, make_app, caplog):
    if db.backend != "postgresql":
        pytest.skip("SQLite stores any integer in any column")
    app = make_app()
    app.add_route("/test/out-of-range", OutOfRange())
    result = testing.TestClient(app).simulate_post("/test/out-of-range")
    assert (result.status_code, result.json["code"]) == (422, "unstorable_value")
    assert "NumericValueOutOfRange" in caplog.text
    assert testing.TestClient(app).simulate_get("/api/health").status_code == 200


def test_a_password_change_with_hostile_values_keeps_the_password(person):
    ann = person()
    raw = b'{"current_password": "' + PASSWORD.encode() + b'", "new_password": "\\ud800xxxxxxxx"}'
    result = ann.client.post("/api/me/password", body=raw,
                             headers={"Content-Type": "application/json"})
    assert problems(result) == {("$.new_password", "lone_surrogate")}


# -- webhooks: signed, but not of an event's shape --------------------------------------
SECRET = "whsec_hostile"
BAD_EVENTS = {
    "no id": b'{"type": "customer.subscription.created", "data": {"object": {}}}',
    "no type": b'{"id": "evt_1", "data": {"object": {}}}',
    "numeric id": b'{"id": 5, "type": "invoice.paid"}',
    "type a list": b'{"id": "evt_1", "type": ["invoice.paid"]}',
    "overlong id": b'{"id": "' + b"e" * 300 + b'", "type": "invoice.paid"}',
    "data a string": b'{"id": "evt_1", "type": "invoice.paid", "data": "x"}',
    "object a list": b'{"id": "evt_1", "type": "invoice.paid", "data": {"object": []}}',
    "subscription a number": (b'{"id": "evt_1", "type": "customer.subscription.updated", '
                              b'"data": {"object": {"id": 7}}}'),
    "metadata a list": (b'{"id": "evt_1", "type": "customer.subscription.updated", '
                        b'"data": {"object": {"id": "sub_1", "metadata": [1]}}}'),
    "parent a string": (b'{"id": "evt_1", "type": "invoice.paid", '
                        b'"data": {"object": {"parent": "x"}}}'),
    "an array": b'[{"id": "evt_1", "type": "invoice.paid"}]',
    "lone surrogate id": b'{"id": "evt_\\ud800", "type": "invoice.paid"}',
    "NUL in the type": b'{"id": "evt_1", "type": "invoice.paid\\u0000"}',
    "nested 100,000 deep": b'{"id": "evt_1", "type": "x", "data": ' + b"[" * 100_000
                           + b"]" * 100_000 + b"}",
    "5,000-digit number": b'{"id": "evt_1", "type": "x", "created": 1' + b"0" * 5000 + b"}",
}


@pytest.fixture
def stripe_app(make_app: Any) -> falcon.App:
    from launchpad_stripe.testing import TEST_KEY

    from launchpad_web.billing.settings import BillingSettings

    # Stripe is never called for these events: nothing answers at api_base.
    return make_app(billing=BillingSettings(
        stripe_secret_key=TEST_KEY, stripe_webhook_secret=SECRET,
        stripe_prices={"pro": "price_pro"}, stripe_api_base="http://127.0.0.1:9"))


def deliver(app: falcon.App, payload: bytes) -> Any:
    from launchpad_stripe.testing import sign

    return testing.TestClient(app).simulate_post(
        "/api/webhooks/stripe", body=payload,
        headers={"Content-Type": "application/json", "Stripe-Signature": sign(payload, SECRET)})


@pytest.mark.parametrize("payload", BAD_EVENTS.values(), ids=BAD_EVENTS.keys())
def test_a_signed_event_of_the_wrong_shape_is_400_invalid_event(stripe_app, db, payload):
    before = snapshot(db)
    result = deliver(stripe_app, payload)
    assert (result.status_code, result.json["code"]) == (400, "invalid_event"), result.text
    assert snapshot(db) == before


def test_a_signed_event_of_the_right_shape_passes_the_same_checks(stripe_app, db):
    result = deliver(stripe_app, b'{"id": "evt_ok", "type": "ping", "data": {"object": {}}}')
    assert (result.status_code, result.json) == (200, {"result": "ignored"})
    assert snapshot(db)["webhook_events"] == 1
