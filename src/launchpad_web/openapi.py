"""The OpenAPI 3.1 document, built from the routes and metadata beside each responder.

Every responder carries an :func:`operation` decorator (summary, request body
class, responses, problem statuses, whether it needs a signed-in user);
:func:`build_document` walks the same :class:`Route` list the app is built from
and refuses a responder without one, so the document cannot leave a route out.
Schemas come from the attrs classes themselves.
"""

from __future__ import annotations

import enum
import re
import types
import typing
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from http import HTTPStatus
from typing import Any

import attrs
import falcon

from .converter import MAX_VERSION, VersionNumber
from .emails import Email
from .problems import MEDIA_TYPE as PROBLEM_MEDIA_TYPE

OPENAPI_ATTR = "__openapi__"
JSON_OBJECT = dict[str, Any]

_PARAM = re.compile(r"\{(\w+)(?::(\w+)[^}]*)?\}")
_CONVERTER_SCHEMAS = {"uuid": {"type": "string", "format": "uuid"}, "int": {"type": "integer"}}
_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    datetime: {"type": "string", "format": "date-time"},
    Email: {"type": "string", "format": "email"},
    VersionNumber: {"type": "integer", "minimum": 1, "maximum": MAX_VERSION},
    Any: {},
}
_BODY_PROBLEMS = (400, 413, 415, 422)

BODY_VALUE_CODES = (
    "Any JSON body is refused, before anything is stored, with code invalid_request and "
    "one entry per value nothing here can hold: too_deep (arrays and objects nested more "
    "than 64 deep), number_out_of_range (an integer outside signed 64 bits), "
    "non_finite_number (NaN, Infinity), invalid_character (a NUL character), "
    "lone_surrogate (a UTF-16 surrogate without its pair); a value the database still "
    "refuses is code unstorable_value."
)

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "field": {"type": "string", "description": "JSON path of the field concerned"},
        "source": {"type": "string", "description": "the template file concerned"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "message", "field"],
                "properties": {
                    "code": {"type": "string", "description": BODY_VALUE_CODES},
                    "message": {"type": "string"},
                    "field": {"type": "string"},
                },
            },
        },
    },
}


@attrs.frozen
class EventStream:
    """A ``text/event-stream`` answer: the data (JSON) of each ``event:`` name, documented
    under the media type's ``x-events``."""

    events: Mapping[str, Any]


@attrs.frozen
class Operation:
    """What one responder documents: its summary (and longer description), body, answers
    and guard."""

    summary: str
    request: type | None = None
    responses: Mapping[int, Any] = attrs.field(factory=lambda: {200: None})
    problems: tuple[int, ...] = ()
    auth: bool = False
    description: str | None = None


def operation(summary: str, *, request: type | None = None,
              responses: Mapping[int, Any] | None = None, problems: Sequence[int] = (),
              auth: bool = False, description: str | None = None,
              ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document a responder. ``responses`` maps a status to an attrs class, a JSON type,
    an :class:`EventStream` or None (no body); ``auth=True`` says it needs
    ``@falcon.before(require_user)``."""
    meta = Operation(summary=summary, request=request, responses=responses or {200: None},
                     problems=tuple(problems), auth=auth, description=description)

    def mark(responder: Callable[..., Any]) -> Callable[..., Any]:
        setattr(responder, OPENAPI_ATTR, meta)
        return responder

    return mark


@attrs.frozen
class Route:
    """One URI template and the resource (and optional responder suffix) serving it."""

    path: str
    resource: object
    suffix: str | None = None


def responders(route: Route) -> Iterator[tuple[str, Callable[..., Any]]]:
    """Each HTTP method ``route`` answers and its responder, as Falcon maps them."""
    suffix = f"_{route.suffix}" if route.suffix else ""
    for method in falcon.COMBINED_METHODS:
        responder = getattr(route.resource, f"on_{method.lower()}{suffix}", None)
        if responder is not None:
            yield method, responder


def openapi_path(template: str) -> str:
    """A Falcon URI template in OpenAPI's spelling (``{id:uuid}`` becomes ``{id}``)."""
    return _PARAM.sub(r"{\1}", template)


def build_document(routes: Sequence[Route], *, version: str, cookie_name: str) -> dict[str, Any]:
    components: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    paths: dict[str, Any] = {}
    for route in routes:
        item = paths.setdefault(openapi_path(route.path), {})
        for method, responder in responders(route):
            meta = getattr(responder, OPENAPI_ATTR, None)
            if meta is None:
                name = f"{type(route.resource).__name__}.{responder.__name__}"
                raise TypeError(f"{name} has no @operation(...) metadata")
            op_id = f"{type(route.resource).__name__}.{method.lower()}"
            item[method.lower()] = _operation(meta, route.path, op_id, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "LaunchPad API", "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": cookie_name},
                "bearer": {"type": "http", "scheme": "bearer", "description": "an API token"},
            },
        },
    }


def _operation(meta: Operation, template: str, op_id: str,
               components: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {"operationId": op_id, "summary": meta.summary, "responses": {}}
    if meta.description:
        doc["description"] = meta.description
    params = [
        {"name": name, "in": "path", "required": True,
         "schema": _CONVERTER_SCHEMAS.get(converter or "", {"type": "string"})}
        for name, converter in _PARAM.findall(template)
    ]
    if params:
        doc["parameters"] = params
    problems = set(meta.problems)
    if meta.request is not None:
        doc["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": json_schema(meta.request, components)}}}
        problems.update(_BODY_PROBLEMS)
    if meta.auth:
        doc["security"] = [{"session": []}, {"bearer": []}]
        problems.add(401)
    for status, body in meta.responses.items():
        doc["responses"][str(status)] = _response(status, body, components)
    for status in sorted(problems):
        doc["responses"][str(status)] = _problem(HTTPStatus(status).phrase)
    doc["responses"]["default"] = _problem("Unexpected error")
    return doc


def _response(status: int, body: Any, components: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = {"description": HTTPStatus(status).phrase}
    if isinstance(body, EventStream):
        response["content"] = {"text/event-stream": {
            "schema": {"type": "string", "description": "server-sent events"},
            "x-events": {name: json_schema(data, components)
                         for name, data in body.events.items()}}}
    elif body is not None:
        response["content"] = {"application/json": {"schema": json_schema(body, components)}}
    return response


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {
        PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def json_schema(tp: Any, components: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema of a type used in bodies; attrs classes go to ``components``."""
    if attrs.has(tp):
        return _component(tp, components)
    if tp in _SCALARS:
        return dict(_SCALARS[tp])
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"type": "string", "enum": [m.value for m in tp]}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [json_schema(arg, components) for arg in args]}
    if origin in (list, tuple, Sequence):
        return {"type": "array", "items": json_schema(args[0], components)}
    if origin in (dict, Mapping):
        return {"type": "object"}
    raise TypeError(f"no JSON Schema for {tp!r}")


def _component(cls: type, components: dict[str, Any]) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{cls.__name__}"}
    if cls.__name__ in components:
        return ref
    components[cls.__name__] = {}  # placeholder: recursive classes stop here
    hints = typing.get_type_hints(cls)
    fields = attrs.fields(cls)
    components[cls.__name__] = {
        "type": "object",
        "additionalProperties": False,
        "required": [f.name for f in fields if f.default is attrs.NOTHING],
        "properties": {f.name: _described(json_schema(hints[f.name], components), f)
                       for f in fields},
    }
    return ref


def _described(schema: dict[str, Any], field: attrs.Attribute) -> dict[str, Any]:
    """A field's schema with its ``metadata={"description": ...}``, when it has one."""
    description = field.metadata.get("description")
    return {**schema, "description": description} if description else schema


class OpenApiResource:
    """Serves the document ``create_app`` builds once every route is known."""

    def __init__(self) -> None:
        self.document: Mapping[str, Any] = {}

    @operation("This API's OpenAPI 3.1 document", responses={200: JSON_OBJECT})
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.document
