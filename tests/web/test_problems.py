"""Every error is an RFC 9457 problem document; nothing internal leaks."""

from __future__ import annotations

import json
import logging

import pytest

from launchpad_web.logs import JsonFormatter
from launchpad_web.problems import MEDIA_TYPE

PASSWORD = "correct horse battery staple"


def assert_problem(result, status, code):
    assert result.status_code == status
    assert result.headers["content-type"] == MEDIA_TYPE
    doc = result.json
    assert doc["status"] == status and doc["code"] == code
    assert doc["type"] == f"urn:launchpad:problem:{code}"
    assert doc["title"]
    return doc


def test_unknown_field_is_422_naming_it(client):
    doc = assert_problem(client.post("/api/auth/signup", json={
        "email": "a@example.org", "password": PASSWORD, "owner_id": "x"}), 422, "invalid_request")
    assert doc["field"] == "$.owner_id"


def test_every_bad_field_is_listed(client):
    doc = assert_problem(client.post("/api/auth/signup", json={"email": 3, "plan": "pro"}),
                         422, "invalid_request")
    assert {(e["code"], e["field"]) for e in doc["errors"]} == {
        ("invalid_type", "$.email"), ("missing_field", "$.password"),
        ("unknown_field", "$.plan")}
    assert "field" not in doc


@pytest.mark.parametrize("body", [[], "text", 3, None])
def test_a_body_that_is_not_an_object_is_422(client, body):
    result = client.post("/api/auth/login", body=json.dumps(body), content_type="application/json")
    doc = assert_problem(result, 422, "invalid_request")
    assert doc["field"] == "$"


def test_malformed_json_is_400(client):
    doc = assert_problem(client.post("/api/auth/login", body='{"email": ',
                                     content_type="application/json"), 400, "invalid_json")
    assert "line 1" in doc["detail"]


def test_non_utf8_json_is_400(client):
    assert_problem(client.post("/api/auth/login", body=b'{"email": "\xff"}',
                               content_type="application/json"), 400, "invalid_json")


def test_another_media_type_is_415(client):
    assert_problem(client.post("/api/auth/login", body="email=a", content_type="text/plain"),
                   415, "unsupported_media_type")


def test_an_oversized_body_is_413_before_reading(make_app, new_client):
    client = new_client(make_app(max_body_bytes=100))
    body = json.dumps({"email": "a@example.org", "password": "p" * 200})
    assert_problem(client.post("/api/auth/signup", body=body, content_type="application/json"),
                   413, "payload_too_large")


def test_the_body_reader_enforces_the_limit_itself():
    from falcon import testing

    from launchpad_web.errors import PayloadTooLargeError
    from launchpad_web.request_bodies import read_json_value

    req = testing.create_req(method="POST", body='{"a": "' + "x" * 50 + '"}',
                             headers={"Content-Type": "application/json"})
    req.context.max_body_bytes = 10
    with pytest.raises(PayloadTooLargeError):
        read_json_value(req)


def test_unknown_route_is_a_404_problem(client):
    assert_problem(client.get("/api/nothing-here"), 404, "not_found")


def test_wrong_method_is_a_405_problem_with_allow(client):
    result = client.request("PUT", "/api/me")
    assert_problem(result, 405, "method_not_allowed")
    assert "GET" in result.headers["allow"]


def test_an_unexpected_error_is_500_without_internals(app, client, caplog):
    class Boom:
        def on_get(self, req, resp):
            raise RuntimeError("secret detail at /srv/launchpad/internal.py")

    app.add_route("/api/boom", Boom())
    with caplog.at_level(logging.ERROR, logger="launchpad_web.errors"):
        result = client.get("/api/boom", headers={"X-Request-ID": "req-12345678"})
    doc = assert_problem(result, 500, "internal_error")
    assert doc["request_id"] == "req-12345678"
    assert "secret" not in result.text and "Traceback" not in result.text
    assert ".py" not in result.text
    logged = JsonFormatter().format(caplog.records[-1])
    assert "secret detail" in logged and "req-12345678" in logged


def test_core_definition_errors_are_422_with_every_problem(app, client, launchpad):
    class Definitions:
        def on_post(self, req, resp):
            launchpad.structure({"name": "x", "files": [{"path": 3}], "colour": "red"})

    app.add_route("/api/definitions", Definitions())
    doc = assert_problem(client.post("/api/definitions"), 422, "invalid_definition")
    fields = {e["field"] for e in doc["errors"]}
    assert "$.files[0].path" in fields
    assert all(set(e) == {"code", "message", "field"} for e in doc["errors"])


def test_problems_from_core_can_be_rooted_in_the_request():
    from launchpad_core import Problem
    from launchpad_web.errors import ValidationFailedError

    error = ValidationFailedError.from_problems([Problem("c", "m", "$.files[0]")],
                                                root="$.definition")
    assert error.errors[0].field == "$.definition.files[0]"


def test_too_many_requests_carries_retry_after(app, client):
    from launchpad_web.errors import TooManyRequestsError

    class Busy:
        def on_get(self, req, resp):
            raise TooManyRequestsError(retry_after=30)

    app.add_route("/api/busy", Busy())
    result = client.get("/api/busy")
    assert_problem(result, 429, "too_many_requests")
    assert result.headers["retry-after"] == "30"


def test_request_ids_are_echoed_or_made(client):
    assert client.get("/api/health", headers={"X-Request-ID": "abc-12345678"}).headers[
        "x-request-id"] == "abc-12345678"
    made = client.get("/api/health", headers={"X-Request-ID": "bad id\n"}).headers["x-request-id"]
    assert len(made) == 32 and made.isalnum()


def test_each_request_is_logged_as_json(client, signup, caplog):
    user = signup(client)
    with caplog.at_level(logging.INFO, logger="launchpad_web.access"):
        client.get("/api/me", headers={"X-Request-ID": "log-12345678"})
    line = json.loads(JsonFormatter().format(caplog.records[-1]))
    assert line["request_id"] == "log-12345678"
    assert line["user_id"] == user["id"]
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/me", 200)
    assert line["duration_ms"] >= 0 and line["level"] == "info"
