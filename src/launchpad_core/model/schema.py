"""The JSON Schema of a template definition, generated from the attrs classes.

Generated, not hand-written, so it cannot drift from what the converter
accepts; field descriptions come from each field's ``metadata["doc"]``.
Variable types contributed by plugins appear in the ``type`` enum.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from typing import Any, Literal, get_args, get_origin

import attrs

from .template import NAME_PATTERN, Choice, Template

SCHEMA_ID = "https://launchpad.dev/schema/template.json"
_PRIMITIVES = {str: "string", bool: "boolean", int: "integer", float: "number"}


def definition_schema(variable_types: Iterable[str]) -> dict[str, Any]:
    """The JSON Schema (2020-12) of a template definition."""
    defs: dict[str, Any] = {}
    root = _class_schema(Template, defs)
    variable = defs["Variable"]["properties"]
    variable["type"]["enum"] = sorted(variable_types)
    variable["name"]["pattern"] = NAME_PATTERN
    defs["FileSpec"]["properties"]["mode"] = {
        "description": defs["FileSpec"]["properties"]["mode"].get("description", ""),
        "anyOf": [
            {"type": "integer", "minimum": 0, "maximum": 0o7777},
            {"type": "string", "pattern": "^(0o)?[0-7]{1,4}$"},
            {"type": "null"},
        ],
    }
    # The converter reads any object as {value, label}; any other JSON value is a plain value.
    plain = {"not": {"type": "object"}}
    choice = {"anyOf": [plain, _object(Choice, defs)], "description": "A value or an object."}
    defs["Choice"] = choice
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "LaunchPad template definition",
        **root,
        "$defs": defs,
    }


def _class_schema(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    if cls.__name__ not in defs:
        defs[cls.__name__] = {}  # placeholder against recursion
        defs[cls.__name__] = _object(cls, defs)
    return {"$ref": f"#/$defs/{cls.__name__}"} if cls is not Template else defs.pop("Template")


def _object(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    required = []
    for field in attrs.fields(cls):
        key = "$schema" if (cls is Template and field.name == "schema") else field.name
        schema = dict(_type_schema(hints[field.name], defs))
        if field.metadata.get("doc"):
            schema["description"] = field.metadata["doc"]
        properties[key] = schema
        if field.default is attrs.NOTHING:
            required.append(key)
    result: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if cls.__doc__:
        result["description"] = cls.__doc__.strip().splitlines()[0]
    if required:
        result["required"] = required
    return result


def _type_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    if tp is Any:
        return {}
    if tp is type(None) or tp in _PRIMITIVES:
        return {"type": _PRIMITIVES.get(tp, "null")}
    if tp is Choice:
        return {"$ref": "#/$defs/Choice"}
    if attrs.has(tp):
        return _class_schema(tp, defs)
    return _generic_schema(tp, defs)


def _generic_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin, args = get_origin(tp), get_args(tp)
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_type_schema(arg, defs) for arg in args]}
    if origin is tuple:
        return {"type": "array", "items": _type_schema(args[0], defs)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _type_schema(args[1], defs)}
    raise TypeError(f"no JSON Schema for {tp!r}")
