"""The API reference page: this service's OpenAPI document rendered as HTML on the
server, with no script (Swagger UI, about 470 KB of JavaScript compressed, is one
link away on ``/docs/api/try`` for trying requests in the browser).

The page reads the very document ``/api/openapi.json`` serves, so it cannot drift
from the API: every operation grouped by the first segment of its path, with its
parameters, request body and responses, and every schema with its fields; types
that name a schema link to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import falcon

from .rendering import Pages

Type = tuple[tuple[str, str | None], ...]  # (text, anchor of the schema it names or None)
METHODS = ("get", "post", "put", "patch", "delete")


@attrs.frozen
class Property:
    name: str
    type: Type
    required: bool


@attrs.frozen
class Schema:
    name: str
    anchor: str
    properties: tuple[Property, ...]


@attrs.frozen
class Response:
    status: str
    description: str
    type: Type


@attrs.frozen
class Operation:
    method: str
    path: str
    summary: str
    anchor: str
    signed_in: bool
    parameters: tuple[Property, ...]
    body: Type
    responses: tuple[Response, ...]


@attrs.frozen
class Group:
    name: str
    anchor: str
    operations: tuple[Operation, ...]


@attrs.frozen
class Reference:
    title: str
    version: str
    groups: tuple[Group, ...]
    schemas: tuple[Schema, ...]


def reference(document: Mapping[str, Any]) -> Reference:
    groups: dict[str, list[Operation]] = {}
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                group = _group_of(path)
                groups.setdefault(group, []).append(_operation(method, path, item[method]))
    schemas = document.get("components", {}).get("schemas", {})
    return Reference(
        title=document.get("info", {}).get("title", "API"),
        version=document.get("info", {}).get("version", ""),
        groups=tuple(Group(name, _anchor("group", name), tuple(ops))
                     for name, ops in sorted(groups.items())),
        schemas=tuple(Schema(name, _anchor("schema", name), tuple(
            Property(field, type_of(spec), field in schema.get("required", ()))
            for field, spec in schema.get("properties", {}).items()))
            for name, schema in sorted(schemas.items())),
    )


def type_of(schema: Mapping[str, Any]) -> Type:
    """A schema as a short phrase: ``string (uuid)``, ``array of TemplateSummary``..."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return ((name, _anchor("schema", name)),)
    if "anyOf" in schema:
        parts: list[tuple[str, str | None]] = []
        for index, option in enumerate(schema["anyOf"]):
            if index:
                parts.append((" or ", None))
            parts.extend(type_of(option))
        return tuple(parts)
    if "enum" in schema:
        return ("one of " + ", ".join(str(v) for v in schema["enum"]), None),
    kind = schema.get("type", "any")
    if kind == "array":
        return (("array of ", None), *type_of(schema.get("items", {})))
    if isinstance(kind, list):
        kind = " or ".join(kind)
    return (f"{kind} ({schema['format']})" if "format" in schema else kind, None),


def _operation(method: str, path: str, spec: Mapping[str, Any]) -> Operation:
    body = spec.get("requestBody", {}).get("content", {})
    return Operation(
        method=method.upper(),
        path=path,
        summary=spec.get("summary", ""),
        anchor=_anchor("op", f"{method}-{path}"),
        signed_in=bool(spec.get("security")),
        parameters=tuple(Property(p["name"], type_of(p.get("schema", {})), p.get("required", False))
                         for p in spec.get("parameters", ())),
        body=type_of(next(iter(body.values()))["schema"]) if body else (),
        responses=tuple(
            Response(status, response.get("description", ""), _content_type(response))
            for status, response in spec.get("responses", {}).items()),
    )


def _content_type(response: Mapping[str, Any]) -> Type:
    content = response.get("content", {})
    if not content:
        return ()
    media, body = next(iter(content.items()))
    if media != "application/json":
        return ((f"{media}", None),)
    return type_of(body.get("schema", {}))


def _group_of(path: str) -> str:
    segments = [s for s in path.split("/") if s and s != "api"]
    return segments[0] if segments else "api"


def _anchor(kind: str, name: str) -> str:
    return f"{kind}-" + re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()


class ApiReferencePage:
    def __init__(self, pages: Pages, document: Callable[[], Mapping[str, Any]]):
        self.pages = pages
        self.document = document
        self._reference: Reference | None = None

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        # Built on the first request: create_app completes the document after the
        # routes, and it does not change afterwards.
        if self._reference is None:
            self._reference = reference(self.document())
        self.pages.render(req, resp, "api.html", reference=self._reference)


class ApiTryPage:
    """Swagger UI over the same document, for trying requests with the session."""

    def __init__(self, pages: Pages):
        self.pages = pages

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.pages.render(req, resp, "api-try.html")
