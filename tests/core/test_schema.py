"""The generated JSON Schema agrees with the converter and covers every field."""

from __future__ import annotations

from typing import Any

import attrs
import jsonschema
import pytest

from launchpad_core import Launchpad
from launchpad_core.errors import DefinitionError
from launchpad_core.model.schema import definition_schema
from launchpad_core.model.serialization import structure_template
from launchpad_core.model.template import Choice, EnvOptions, FileSpec, Settings, Template, Variable

from .conftest import definition, make_launchpad
from .test_definition import FULL


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return definition_schema(make_launchpad().types)


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


GOOD = [
    FULL,
    {"name": "minimal"},
    definition("a", {"path": "b", "mode": 493}, {"path": "c", "mode": "0o644"}),
    definition("empty/", {"path": "{{ name }}/"}),
    definition(variables=[{"name": "c", "type": "choice", "choices": [1, "two", None, [3]]}]),
    definition(variables=[{"name": "x", "default": {"any": ["json"]}, "when": "{{ y }}"}]),
    definition(settings={"generators": {"license": {"spdx": "MIT"}}, "tasks": [{"command": "x"}]}),
]

BAD = [
    definition({"path": 5}),
    {"name": "t", "bogus": 1},
    {"files": []},
    definition(variables=[{"name": "x", "secret": "true"}]),
    definition(variables=[{"name": "x", "when": 1}]),
    definition(variables=[{"name": "c", "choices": [{"value": 1, "lbl": "x"}]}]),
    definition(variables=[{"name": "c", "choices": [{"label": "no value"}]}]),
    definition(variables=[{"name": "c", "choices": [{"value": 1, "label": 2}]}]),
    definition({"path": "a", "mode": "9"}),
    definition({"path": "a", "mode": True}),
    definition({"path": "a", "mode": 0o10000}),
    definition({"path": "a", "encoding": "latin-1"}),
    definition({"path": "a", "render": "yes"}),
    definition(settings={"exclude": "*.pyc"}),
    definition(settings={"envops": {"trim_blocks": 1}}),
    definition(settings={"envops": {"unknown": True}}),
    definition(settings={"origin": [["a", 1]]}),
    {"name": "t", "version": 1.0},
]


@pytest.mark.parametrize("data", GOOD)
def test_good_definitions_pass_both(
    validator: jsonschema.Draft202012Validator, data: dict[str, Any]
) -> None:
    structure_template(data)
    assert list(validator.iter_errors(data)) == []


@pytest.mark.parametrize("data", BAD)
def test_what_the_converter_rejects_the_schema_rejects(
    validator: jsonschema.Draft202012Validator, data: dict[str, Any]
) -> None:
    with pytest.raises(DefinitionError):
        structure_template(data)
    assert list(validator.iter_errors(data)) != []


def _properties(schema: dict[str, Any], cls: type) -> dict[str, Any]:
    if cls is Template:
        return schema["properties"]
    entry = schema["$defs"][cls.__name__]
    if cls is Choice:  # a plain value or an object
        entry = next(e for e in entry["anyOf"] if e.get("type") == "object")
    return entry["properties"]


@pytest.mark.parametrize("cls", [Template, Variable, Choice, FileSpec, Settings, EnvOptions])
def test_every_field_of_every_class_is_in_the_schema(schema: dict[str, Any], cls: type) -> None:
    properties = _properties(schema, cls)
    expected = {"$schema" if f.name == "schema" else f.name for f in attrs.fields(cls)}
    assert set(properties) == expected
    documented = {f.name for f in attrs.fields(cls) if f.metadata.get("doc")}
    for name in documented:
        key = "$schema" if name == "schema" else name
        assert properties[key]["description"] == attrs.fields_dict(cls)[name].metadata["doc"]


def test_required_fields_are_those_without_defaults(schema: dict[str, Any]) -> None:
    assert schema["required"] == ["name"]
    assert schema["$defs"]["Variable"]["required"] == ["name"]
    assert schema["$defs"]["FileSpec"]["required"] == ["path"]


def test_the_type_enum_lists_the_installed_variable_types(
    lp: Launchpad, schema: dict[str, Any]
) -> None:
    assert schema["$defs"]["Variable"]["properties"]["type"]["enum"] == sorted(lp.types)
