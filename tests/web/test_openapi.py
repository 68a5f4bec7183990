"""The OpenAPI document covers exactly the app's routes, and tells the truth about auth."""

from __future__ import annotations

import re

import falcon
import falcon.inspect
import pytest

from launchpad_web.openapi import Route, build_document, openapi_path

OPENAPI_VERBS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def router_operations(app):
    """The API's operations (the pages outside ``/api`` are HTML, not in the document)."""
    return {
        (openapi_path(route.path), method.method.lower())
        for route in falcon.inspect.inspect_routes(app)
        for method in route.methods
        if not method.internal and route.path.startswith("/api/")
    }


def document_operations(doc):
    return {(path, verb) for path, item in doc["paths"].items() for verb in item}


def test_the_document_lists_exactly_the_routes(app, client):
    doc = client.get("/api/openapi.json").json
    assert doc["openapi"] == "3.1.0"
    assert document_operations(doc) == router_operations(app)
    assert ("/api/openapi.json", "get") in document_operations(doc)


def test_every_operation_is_documented(client):
    doc = client.get("/api/openapi.json").json
    ids = []
    for item in doc["paths"].values():
        for verb, op in item.items():
            assert verb in OPENAPI_VERBS
            assert op["summary"] and op["responses"]["default"]
            assert any(re.fullmatch(r"[23]\d\d", status) for status in op["responses"])
            ids.append(op["operationId"])
    assert len(ids) == len(set(ids))


def test_schemas_resolve(client):
    doc = client.get("/api/openapi.json").json
    refs = set(re.findall(r'"#/components/schemas/(\w+)"', str(doc).replace("'", '"')))
    assert refs <= set(doc["components"]["schemas"])
    user = doc["components"]["schemas"]["SignupRequest"]
    assert user["additionalProperties"] is False
    assert user["properties"]["email"] == {"type": "string", "format": "email"}


def test_auth_metadata_matches_behaviour(client):
    """Operations marked auth answer 401 to an anonymous caller; the others do not."""
    doc = client.get("/api/openapi.json").json
    for path, item in doc["paths"].items():
        concrete = re.sub(r"\{\w+\}", "00000000-0000-0000-0000-000000000000", path)
        for verb, op in item.items():
            result = client.request(verb.upper(), concrete, json={})
            needs_user = "security" in op
            assert (result.status_code == 401) == needs_user, (verb, path, result.status_code)


def test_a_responder_without_metadata_is_refused():
    class Undocumented:
        def on_get(self, req, resp):
            pass

    with pytest.raises(TypeError, match=r"Undocumented\.on_get has no @operation"):
        build_document([Route("/x", Undocumented())], version="0", cookie_name="c")


def test_path_templates_become_openapi_paths():
    assert openapi_path("/api/templates/{template_id:uuid}/versions/{number:int}") == (
        "/api/templates/{template_id}/versions/{number}")


def test_the_codes_of_refused_body_values_are_documented(client):
    """The codes parse_json gives are in the Problem schema, and version fields say
    their range, so a client can tell them apart without reading the code."""
    doc = client.get("/api/openapi.json").json
    schemas = doc["components"]["schemas"]
    described = schemas["Problem"]["properties"]["errors"]["items"]["properties"]["code"]
    for code in ("invalid_request", "too_deep", "number_out_of_range", "non_finite_number",
                 "invalid_character", "lone_surrogate", "unstorable_value"):
        assert code in described["description"], code
    version = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    for name in ("GenerateRequest", "PreviewRequest", "TemplateUpdateRequest"):
        assert version in schemas[name]["properties"]["version"]["anyOf"], name
